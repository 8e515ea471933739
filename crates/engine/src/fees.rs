//! Trading fees (DESIGN.md §9): taker and maker rates in basis points of a fill's notional, the
//! maker's possibly negative (a rebate). Fees round in favour of the system: a charge rounds up, a
//! rebate down. What the exchange keeps is split between the insurance vault and the treasury,
//! the rounding remainder going to insurance.

use crate::{math, EngineError, EngineResult, SignedQuote};

/// One whole in basis points.
pub const BPS: i128 = 10_000;

/// The fee on `notional` at `rate_bps`: positive is charged to the trader (rounded up), negative
/// is a rebate paid to it (its magnitude rounded down).
pub fn fee(notional: SignedQuote, rate_bps: i32) -> EngineResult<SignedQuote> {
    if notional.0 < 0 {
        return Err(EngineError::MathOverflow);
    }
    math::div_ceil(math::mul(notional.0, rate_bps as i128)?, BPS).map(SignedQuote)
}

/// How the exchange's net fee income is shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeSplit {
    pub insurance: SignedQuote,
    pub treasury: SignedQuote,
}

/// Splits a non-negative net fee: the treasury gets `(1 − share)` rounded down, insurance the rest.
pub fn split_fees(net: SignedQuote, insurance_share_bps: u16) -> EngineResult<FeeSplit> {
    if net.0 < 0 || insurance_share_bps as i128 > BPS {
        return Err(EngineError::MathOverflow);
    }
    let treasury = math::div_floor(math::mul(net.0, BPS - insurance_share_bps as i128)?, BPS)?;
    Ok(FeeSplit {
        insurance: SignedQuote(net.0 - treasury),
        treasury: SignedQuote(treasury),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_fees_round_for_the_system() {
        // 5 bps of 1,000.01 USDC (1,000,010,000 atoms) is 500,005 atoms exactly.
        assert_eq!(fee(SignedQuote(1_000_010_000), 5), Ok(SignedQuote(500_005)));
        // 5 bps of 1,001 atoms is 0.5005: charged as 1.
        assert_eq!(fee(SignedQuote(1_001), 5), Ok(SignedQuote(1)));
        // A 2 bps rebate on 1,001 atoms is 0.2002: paid as 0.
        assert_eq!(fee(SignedQuote(1_001), -2), Ok(SignedQuote(0)));
        assert_eq!(fee(SignedQuote(100_000), -2), Ok(SignedQuote(-20)));
        // 7 atoms, 30% to insurance: treasury floor(4.9) = 4, insurance 3.
        assert_eq!(
            split_fees(SignedQuote(7), 3_000),
            Ok(FeeSplit {
                insurance: SignedQuote(3),
                treasury: SignedQuote(4)
            })
        );
    }

    proptest! {
        #[test]
        fn a_taker_fee_always_covers_the_largest_allowed_rebate(
            notional in 0i128..1_000_000_000_000_000,
            taker in 0i32..1_000,
            rebate_share in 0i32..=100,
        ) {
            let maker = -(taker * rebate_share / 100);
            let net = fee(SignedQuote(notional), taker).unwrap().0 + fee(SignedQuote(notional), maker).unwrap().0;
            prop_assert!(net >= 0);
            let split = split_fees(SignedQuote(net), 5_000).unwrap();
            prop_assert_eq!(split.insurance.0 + split.treasury.0, net);
        }
    }
}
