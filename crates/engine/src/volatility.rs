//! The adjustments that keep a market away from ADL (DESIGN.md §6, §11): an oracle EMA, initial
//! margin scaled up with the gap between the oracle and that EMA, and the circuit breaker.

use crate::{math, EngineError, EngineResult, Price, RatePpm, PPM};

/// Fixed-point unit of the EMA's decay factor.
pub const DECAY_SCALE: u64 = 1_000_000_000;

/// `e^−n · DECAY_SCALE` for whole `n`, rounded down (`e^−21` is below one unit).
const EXP_NEG_WHOLE: [u64; 21] = [
    1_000_000_000,
    367_879_441,
    135_335_283,
    49_787_068,
    18_315_638,
    6_737_946,
    2_478_752,
    911_881,
    335_462,
    123_409,
    45_399,
    16_701,
    6_144,
    2_260,
    831,
    305,
    112,
    41,
    15,
    5,
    2,
];

/// `e^(−elapsed / period)` in `DECAY_SCALE` units: the weight the old EMA keeps after `elapsed`
/// seconds. `e^−n` for the whole periods from a table, `e^−x` for the fraction `x ∈ [0, 1)` from
/// its Taylor series to the 12th term in Horner form (`1 − x·(1 − x/2·(1 − x/3·(…)))`, each
/// factor in `[0, 1]`), all in `u64`; within a few units of `DECAY_SCALE` of the exact value.
pub fn ema_decay(elapsed_secs: u64, period_secs: u32) -> EngineResult<u64> {
    if period_secs == 0 {
        return Err(EngineError::MathOverflow);
    }
    let period = period_secs as u64;
    let whole = (elapsed_secs / period) as usize;
    if whole >= EXP_NEG_WHOLE.len() {
        return Ok(0);
    }
    // (elapsed mod period) < period ≤ 2^32, so the product fits in u64.
    let x = (elapsed_secs % period) * DECAY_SCALE / period;
    let mut factor = DECAY_SCALE;
    for k in (1..=12u64).rev() {
        factor = DECAY_SCALE - x * factor / DECAY_SCALE / k;
    }
    Ok(EXP_NEG_WHOLE[whole] * factor / DECAY_SCALE)
}

/// Moves an exponential moving average toward `price` over `elapsed` seconds with time constant
/// `period`: the gap shrinks by the factor `e^(−elapsed/period)` (`ema_decay`), so after one quiet
/// period the EMA has moved 63% of the way to a new price, not all of it, and a sequence of
/// updates moves it as one update over their total time would (up to rounding). The step is
/// rounded toward the old value. A zero `ema` starts at `price`.
pub fn update_ema(
    ema: Price,
    price: Price,
    elapsed_secs: i64,
    period_secs: u32,
) -> EngineResult<Price> {
    if ema.0 == 0 || period_secs == 0 {
        return Ok(price);
    }
    let kept = ema_decay(elapsed_secs.max(0) as u64, period_secs)?;
    let weight = (DECAY_SCALE - kept) as i128;
    let gap = price.0 as i128 - ema.0 as i128;
    let step = math::div_trunc(math::mul(gap, weight)?, DECAY_SCALE as i128)?;
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

/// The circuit breaker's memory (DESIGN.md §11): the reference price of the current window and
/// when that window began, and the reference of the window just before it while the two are
/// adjacent (0 otherwise). Comparing against both means a move across a window boundary is still
/// caught: a window that reset to the price at its start alone would forget where the move began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerWindow {
    pub reference: Price,
    pub previous_reference: Price,
    pub start: i64,
}

impl BreakerWindow {
    /// A window that begins at `price` at `now`, with nothing before it (the first observation,
    /// or the one that tripped the breaker).
    pub fn starting(price: Price, now: i64) -> Self {
        Self {
            reference: price,
            previous_reference: Price(0),
            start: now,
        }
    }

    /// Observes `price` at `now`. A window that has lasted `window_secs` gives way to a new one
    /// starting at `price`, and its reference becomes the previous one if the new window follows
    /// it directly (less than two windows since it began; after a longer quiet spell there is no
    /// previous reference). Returns the reference `price` moved more than `max_move` away from,
    /// the current window's first, if any: so a move within one window always trips, across a
    /// boundary too, and a move spread over more than two windows never does.
    pub fn observe(
        &mut self,
        price: Price,
        now: i64,
        window_secs: u32,
        max_move: RatePpm,
    ) -> EngineResult<Option<Price>> {
        if self.reference.0 == 0 {
            *self = Self::starting(price, now);
            return Ok(None);
        }
        let window = window_secs as i64;
        let elapsed = now.saturating_sub(self.start);
        if elapsed >= window {
            let adjacent = elapsed < window.saturating_mul(2);
            *self = Self {
                reference: price,
                previous_reference: if adjacent { self.reference } else { Price(0) },
                start: now,
            };
        }
        for reference in [self.reference, self.previous_reference] {
            if reference.0 != 0 && breaker_trips(reference, price, max_move)? {
                return Ok(Some(reference));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_breaker_window_across_its_boundary() {
        // A 10% breaker with a 60 s window: 100 at t = 0, 100 at 58, 89 at 61. The window that
        // began at 0 is over at 61, but the new one remembers its reference: 11% from 100 trips.
        let limit = RatePpm(100_000);
        let mut window = BreakerWindow::default();
        assert_eq!(window.observe(Price(10_000), 0, 60, limit), Ok(None));
        assert_eq!(window.observe(Price(10_000), 58, 60, limit), Ok(None));
        assert_eq!(
            window.observe(Price(8_900), 61, 60, limit),
            Ok(Some(Price(10_000)))
        );
        assert_eq!(
            window,
            BreakerWindow {
                reference: Price(8_900),
                previous_reference: Price(10_000),
                start: 61
            }
        );
        // Within one window, as before: 110.01 from 100 trips at once.
        let mut window = BreakerWindow::starting(Price(10_000), 0);
        assert_eq!(
            window.observe(Price(11_001), 30, 60, limit),
            Ok(Some(Price(10_000)))
        );
        // A quiet spell of two windows or more forgets the old reference: a slow move does not
        // trip.
        let mut window = BreakerWindow::starting(Price(10_000), 0);
        assert_eq!(window.observe(Price(8_900), 120, 60, limit), Ok(None));
        assert_eq!(window.previous_reference, Price(0));
        // Adjacent windows from there on: 89 at 120, 89.50 at 180, 81 at 240 (9.5% from 89.50).
        assert_eq!(window.observe(Price(8_950), 180, 60, limit), Ok(None));
        assert_eq!(window.observe(Price(8_100), 240, 60, limit), Ok(None));
        assert_eq!(
            window,
            BreakerWindow {
                reference: Price(8_100),
                previous_reference: Price(8_950),
                start: 240
            }
        );
    }

    proptest! {
        #[test]
        fn a_move_within_one_window_trips_the_breaker_wherever_the_boundary_falls(
            steps in proptest::collection::vec((1i64..40, 9_000u64..11_000), 1..30),
            window_secs in 10u32..120,
        ) {
            // Observations at increasing times: whenever two of them at most one window apart
            // differ by more than 10% of the earlier one and that earlier one is a reference,
            // the later one trips (checked for the window's first observation, which is).
            let limit = RatePpm(100_000);
            let mut window = BreakerWindow::default();
            let mut now = 0i64;
            for (dt, price) in steps {
                now += dt;
                let before = window;
                let tripped = window.observe(Price(price), now, window_secs, limit).unwrap();
                let within = before.reference.0 != 0 && now - before.start < window_secs as i64 * 2;
                if within && breaker_trips(before.reference, Price(price), limit).unwrap() {
                    prop_assert!(tripped.is_some());
                }
                if let Some(reference) = tripped {
                    prop_assert!(breaker_trips(reference, Price(price), limit).unwrap());
                    window = BreakerWindow::starting(Price(price), now);
                }
            }
        }

        #[test]
        fn the_ema_decays_exponentially(
            elapsed in 0u64..30_000,
            split in 0u64..30_000,
            period in 1u32..100_000,
            ema in 1_000_000u64..1_000_000_000_000,
            price in 1_000_000u64..1_000_000_000_000,
        ) {
            // The decay factor is e^(−t/T) within a few units of 10^-9, and never grows with time.
            let decay = ema_decay(elapsed, period).unwrap();
            let exact = (-(elapsed as f64) / period as f64).exp() * DECAY_SCALE as f64;
            prop_assert!((decay as f64 - exact).abs() <= 4.0, "{decay} vs {exact}");
            prop_assert!(ema_decay(elapsed + 1, period).unwrap() <= decay);
            // The EMA moves toward the price and never past it.
            let moved = update_ema(Price(ema), Price(price), elapsed as i64, period).unwrap();
            prop_assert!(moved.0 >= ema.min(price) && moved.0 <= ema.max(price));
            // Two updates at the same price equal one over their total time, up to rounding:
            // updating more often neither hurries nor slows it.
            let first = split.min(elapsed);
            let twice = update_ema(
                update_ema(Price(ema), Price(price), first as i64, period).unwrap(),
                Price(price),
                (elapsed - first) as i64,
                period,
            )
            .unwrap();
            let gap = ema.abs_diff(price);
            prop_assert!(twice.0.abs_diff(moved.0) <= gap / 100_000_000 + 2);
        }
    }

    #[test]
    fn worked_ema_factor_and_breaker() {
        // An EMA of 60 USDC a lot with a 300 s period, the oracle gapping to 66 after a quiet
        // period: the EMA keeps e^−1 = 36.79% of the gap, 63.792723 (it used to jump to 66, so
        // the volatility factor was 1 exactly at the gap).
        assert_eq!(ema_decay(300, 300), Ok(367_879_441));
        assert_eq!(
            update_ema(Price(60_000_000), Price(66_000_000), 300, 300),
            Ok(Price(63_792_723))
        );
        // Half a period keeps e^−0.5 = 60.65%; ten periods 0.0045%; 21 nothing.
        assert_eq!(ema_decay(150, 300), Ok(606_530_660));
        assert_eq!(
            update_ema(Price(60_000_000), Price(66_000_000), 150, 300),
            Ok(Price(62_360_816))
        );
        assert_eq!(ema_decay(3_000, 300), Ok(45_399));
        assert_eq!(ema_decay(6_300, 300), Ok(0));
        assert_eq!(
            update_ema(Price(60_000_000), Price(66_000_000), 6_300, 300),
            Ok(Price(66_000_000))
        );
        assert_eq!(
            update_ema(Price(60_000_000), Price(66_000_000), 0, 300),
            Ok(Price(60_000_000))
        );
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
