//! The adjustments that keep a market away from ADL (DESIGN.md §6, §11): an oracle EMA, initial
//! margin scaled up with the gap between the oracle and that EMA, and the circuit breaker.

use crate::{math, EngineError, EngineResult, Price, RatePpm, PPM};

/// Moves an exponential moving average toward `price`: by `elapsed / period` of the gap (all of it
/// once a full period has passed), rounded toward the old value. A zero `ema` starts at `price`.
pub fn update_ema(
    ema: Price,
    price: Price,
    elapsed_secs: i64,
    period_secs: u32,
) -> EngineResult<Price> {
    if ema.0 == 0 || period_secs == 0 {
        return Ok(price);
    }
    let weight = elapsed_secs.clamp(0, period_secs as i64) as i128;
    let gap = price.0 as i128 - ema.0 as i128;
    let step = math::div_trunc(math::mul(gap, weight)?, period_secs as i128)?;
    u64::try_from(ema.0 as i128 + step)
        .map(Price)
        .map_err(|_| EngineError::MathOverflow)
}

/// `|a − b| / b` in ppm, rounded up.
pub fn relative_gap(a: Price, b: Price) -> EngineResult<u64> {
    if b.0 == 0 {
        return Err(EngineError::InvalidOraclePrice);
    }
    let gap = (a.0 as i128 - b.0 as i128).abs();
    let ppm = math::div_ceil(math::mul(gap, PPM as i128)?, b.0 as i128)?;
    u64::try_from(ppm).map_err(|_| EngineError::MathOverflow)
}

/// The factor initial margin rates are multiplied by: `1 + sensitivity · |P − EMA| / EMA`,
/// capped at `max_factor` (both in ppm, `PPM` meaning 1×).
pub fn volatility_factor(
    price: Price,
    ema: Price,
    sensitivity: RatePpm,
    max_factor: RatePpm,
) -> EngineResult<RatePpm> {
    let gap = relative_gap(price, ema)? as i128;
    let extra = math::div_ceil(math::mul(gap, sensitivity.0 as i128)?, PPM as i128)?;
    let factor = (PPM as i128 + extra).min(max_factor.0.max(PPM) as i128);
    Ok(RatePpm(factor as u32))
}

/// Whether `price` moved more than `max_move` away from the window's `reference`.
pub fn breaker_trips(reference: Price, price: Price, max_move: RatePpm) -> EngineResult<bool> {
    Ok(relative_gap(price, reference)? > max_move.0 as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_ema_factor_and_breaker() {
        // An EMA of 100 with a 60 s period: 30 s at 110 moves it halfway, to 105.
        assert_eq!(update_ema(Price(100), Price(110), 30, 60), Ok(Price(105)));
        assert_eq!(update_ema(Price(100), Price(110), 600, 60), Ok(Price(110)));
        assert_eq!(update_ema(Price(0), Price(77), 0, 60), Ok(Price(77)));
        assert_eq!(
            update_ema(Price(100), Price(90), 1, 60),
            Ok(Price(100)),
            "rounds toward the old value"
        );
        // Oracle 5% above its EMA with sensitivity 10×: factor 1.5; capped at 3× for a 50% gap.
        assert_eq!(
            volatility_factor(
                Price(105),
                Price(100),
                RatePpm(10_000_000),
                RatePpm(3_000_000)
            ),
            Ok(RatePpm(1_500_000))
        );
        assert_eq!(
            volatility_factor(
                Price(150),
                Price(100),
                RatePpm(10_000_000),
                RatePpm(3_000_000)
            ),
            Ok(RatePpm(3_000_000))
        );
        assert_eq!(
            volatility_factor(
                Price(100),
                Price(100),
                RatePpm(10_000_000),
                RatePpm(3_000_000)
            ),
            Ok(RatePpm(PPM))
        );
        // A 10% breaker: 110 from 100 does not trip, 110.01 does (in finer units).
        assert_eq!(
            breaker_trips(Price(10_000), Price(11_000), RatePpm(100_000)),
            Ok(false)
        );
        assert_eq!(
            breaker_trips(Price(10_000), Price(11_001), RatePpm(100_000)),
            Ok(true)
        );
        assert_eq!(
            breaker_trips(Price(10_000), Price(8_999), RatePpm(100_000)),
            Ok(true)
        );
    }
}
