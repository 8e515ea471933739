//! Oracle validation and conversion (DESIGN.md §11). An oracle reports `price · 10^expo` quote
//! units per base unit with a confidence interval `conf` on the same scale, as Pyth does; the
//! program's own PriceFeed uses the same shape, so one function judges both.

use crate::{math, EngineError, EngineResult, Price, RatePpm, PPM};

/// A raw oracle report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleReading {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// What a market accepts from its oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleLimits {
    /// Oldest acceptable report, in seconds before now.
    pub max_staleness_secs: u32,
    /// Widest acceptable confidence interval relative to the price.
    pub max_confidence: RatePpm,
}

/// Which checks a use of the price needs: liquidation only needs a fresh, positive price, while
/// trading and withdrawals also need a tight confidence interval (DESIGN.md §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleUse {
    Liquidation,
    Trading,
}

impl OracleReading {
    /// Checks the reading at unix time `now`; a report from the future (clock skew) is fresh.
    pub fn validate(&self, now: i64, limits: &OracleLimits, usage: OracleUse) -> EngineResult<()> {
        if self.price <= 0 {
            return Err(EngineError::InvalidOraclePrice);
        }
        if now.saturating_sub(self.publish_time) > limits.max_staleness_secs as i64 {
            return Err(EngineError::StaleOracle);
        }
        if usage == OracleUse::Trading {
            // conf / price > max  ⇔  conf · PPM > price · max
            let lhs = math::mul(self.conf as i128, PPM as i128)?;
            let rhs = math::mul(self.price as i128, limits.max_confidence.0 as i128)?;
            if lhs > rhs {
                return Err(EngineError::OracleConfidenceTooWide);
            }
        }
        Ok(())
    }

    /// The price in quote atoms per base lot, rounded down, for a quote token with
    /// `quote_decimals` and a lot of `10^base_lot_exponent` base units:
    /// `price · 10^(expo + quote_decimals + base_lot_exponent)`.
    pub fn lot_price(&self, quote_decimals: u8, base_lot_exponent: i8) -> EngineResult<Price> {
        if self.price <= 0 {
            return Err(EngineError::InvalidOraclePrice);
        }
        let shift = self.expo as i64 + quote_decimals as i64 + base_lot_exponent as i64;
        let magnitude =
            u32::try_from(shift.unsigned_abs()).map_err(|_| EngineError::MathOverflow)?;
        let price = self.price as i128;
        let lot_price = if shift >= 0 {
            math::mul(price, math::pow10(magnitude)?)?
        } else {
            // A shift beyond 10^38 leaves nothing of any i64 price.
            math::pow10(magnitude).map_or(Ok(0), |scale| math::div_trunc(price, scale))?
        };
        match u64::try_from(lot_price) {
            Ok(0) => Err(EngineError::InvalidOraclePrice),
            Ok(p) => Ok(Price(p)),
            Err(_) => Err(EngineError::MathOverflow),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OracleLimits = OracleLimits {
        max_staleness_secs: 30,
        max_confidence: RatePpm(10_000), // 1%
    };

    fn btc(price: i64, conf: u64, publish_time: i64) -> OracleReading {
        OracleReading {
            price,
            conf,
            expo: -8,
            publish_time,
        }
    }

    #[test]
    fn worked_conversion_to_quote_atoms_per_lot() {
        // BTC at 65,432.12345678 (expo −8), USDC with 6 decimals, a lot of 0.001 BTC (exponent −3):
        // 65.43212345678 USDC per lot = 65,432,123 atoms, rounded down.
        let r = btc(6_543_212_345_678, 0, 0);
        assert_eq!(r.lot_price(6, -3), Ok(Price(65_432_123)));
        // A lot of 100 base units of a 0.5 USD token with expo −2 (price 50): 50 USD = 50e6 atoms.
        let r = OracleReading {
            price: 50,
            conf: 0,
            expo: -2,
            publish_time: 0,
        };
        assert_eq!(r.lot_price(6, 2), Ok(Price(50_000_000)));
        // So small it rounds to nothing: refused, a zero price would make every position safe.
        assert_eq!(
            btc(1, 0, 0).lot_price(6, -3),
            Err(EngineError::InvalidOraclePrice)
        );
        assert_eq!(
            OracleReading {
                expo: 30,
                ..btc(i64::MAX, 0, 0)
            }
            .lot_price(6, 0),
            Err(EngineError::MathOverflow)
        );
    }

    #[test]
    fn stale_negative_and_uncertain_prices_are_rejected_by_name() {
        let now = 1_000;
        assert_eq!(
            btc(100, 1, 970).validate(now, &LIMITS, OracleUse::Trading),
            Ok(())
        );
        assert_eq!(
            btc(100, 1, 969).validate(now, &LIMITS, OracleUse::Trading),
            Err(EngineError::StaleOracle)
        );
        assert_eq!(
            btc(0, 0, now).validate(now, &LIMITS, OracleUse::Liquidation),
            Err(EngineError::InvalidOraclePrice)
        );
        assert_eq!(
            btc(-5, 0, now).validate(now, &LIMITS, OracleUse::Liquidation),
            Err(EngineError::InvalidOraclePrice)
        );
        // 1% of 10,000 is 100: 100 passes, 101 is too wide for trading, fine for liquidation.
        assert_eq!(
            btc(10_000, 100, now).validate(now, &LIMITS, OracleUse::Trading),
            Ok(())
        );
        assert_eq!(
            btc(10_000, 101, now).validate(now, &LIMITS, OracleUse::Trading),
            Err(EngineError::OracleConfidenceTooWide)
        );
        assert_eq!(
            btc(10_000, 101, now).validate(now, &LIMITS, OracleUse::Liquidation),
            Ok(())
        );
        // A report a little in the future (validator clock skew) is fresh.
        assert_eq!(
            btc(100, 0, now + 5).validate(now, &LIMITS, OracleUse::Trading),
            Ok(())
        );
    }
}
