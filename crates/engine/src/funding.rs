//! Funding (DESIGN.md §10): a cumulative index per market in `1/FUNDING_INDEX_SCALE` quote atoms
//! per lot. Each crank moves it by `rate · P · elapsed / interval`, where the rate is the mark's
//! premium over the oracle, clamped; positions settle against it lazily. Longs pay shorts when the
//! index rises. Settlement rounds against the position, so funding is zero-sum up to a residue
//! that stays with the system (the program sweeps it to insurance).

use crate::{math, EngineError, EngineResult, Price, RatePpm, SignedLots, SignedQuote, PPM};

/// Index units per quote atom per lot.
pub const FUNDING_INDEX_SCALE: i128 = PPM as i128;

/// The mark price: the book's mid, or the oracle when a side is empty.
pub fn mark_price(best_bid: Option<Price>, best_ask: Option<Price>, oracle: Price) -> Price {
    match (best_bid, best_ask) {
        (Some(b), Some(a)) => Price(((b.0 as u128 + a.0 as u128) / 2) as u64),
        _ => oracle,
    }
}

/// The premium of `mark` over `oracle` per interval, in signed ppm, rounded toward zero and
/// clamped to `±max_rate`.
pub fn funding_rate(mark: Price, oracle: Price, max_rate: RatePpm) -> EngineResult<i64> {
    if oracle.0 == 0 {
        return Err(EngineError::InvalidOraclePrice);
    }
    let premium = math::div_trunc(
        math::mul(mark.0 as i128 - oracle.0 as i128, PPM as i128)?,
        oracle.0 as i128,
    )?;
    let max = max_rate.0 as i128;
    Ok(premium.clamp(-max, max) as i64)
}

/// How far the index moves for `rate_ppm` over `elapsed` seconds of an `interval`-second period:
/// `rate · P · elapsed / interval` in index units (ppm of an atom is exactly one index unit),
/// rounded toward zero.
pub fn funding_index_delta(
    rate_ppm: i64,
    oracle: Price,
    elapsed: i64,
    interval: u32,
) -> EngineResult<i64> {
    if interval == 0 || elapsed < 0 {
        return Err(EngineError::MathOverflow);
    }
    let numerator = math::mul(
        math::mul(rate_ppm as i128, oracle.0 as i128)?,
        elapsed as i128,
    )?;
    i64::try_from(math::div_trunc(numerator, interval as i128)?)
        .map_err(|_| EngineError::MathOverflow)
}

/// What a position of `size` owes after the index moved by `index_delta` since its snapshot:
/// positive pays, negative receives. Rounded up (toward +∞), so a payer pays the fraction and a
/// receiver forgoes it; the second value is that rounding in index units, in `[0, SCALE)`.
pub fn funding_owed(size: SignedLots, index_delta: i64) -> EngineResult<(SignedQuote, i128)> {
    let exact = math::mul(size.0 as i128, index_delta as i128)?;
    let owed = math::div_ceil(exact, FUNDING_INDEX_SCALE)?;
    let residue = math::sub(math::mul(owed, FUNDING_INDEX_SCALE)?, exact)?;
    Ok((SignedQuote(owed), residue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_funding_for_a_book_above_the_oracle() {
        // Book 60.06 / 60.10 USDC per lot around an oracle of 60.00: mid 60.08, premium 0.1333…%
        // = 1,333 ppm, clamped to a 1,000 ppm (0.1%) maximum per interval.
        let mark = mark_price(
            Some(Price(60_060_000)),
            Some(Price(60_100_000)),
            Price(60_000_000),
        );
        assert_eq!(mark, Price(60_080_000));
        assert_eq!(
            funding_rate(mark, Price(60_000_000), RatePpm(10_000)),
            Ok(1_333)
        );
        assert_eq!(
            funding_rate(mark, Price(60_000_000), RatePpm(1_000)),
            Ok(1_000)
        );
        // One-sided book: the mark is the oracle and the rate is zero.
        assert_eq!(mark_price(None, Some(Price(70)), Price(60)), Price(60));
        // A full hour at 0.1% of 60 USDC per lot: 0.06 USDC = 60,000 atoms per lot = 6e10 units.
        let delta = funding_index_delta(1_000, Price(60_000_000), 3_600, 3_600).unwrap();
        assert_eq!(delta, 60_000_000_000);
        // 10 lots long pay 600,000 atoms; 10 lots short receive them.
        assert_eq!(
            funding_owed(SignedLots(10), delta),
            Ok((SignedQuote(600_000), 0))
        );
        assert_eq!(
            funding_owed(SignedLots(-10), delta),
            Ok((SignedQuote(-600_000), 0))
        );
        // 1 lot long after a move of 1.5 atoms: pays 2, and 0.5 atom (500,000 units) is residue.
        assert_eq!(
            funding_owed(SignedLots(1), 1_500_000),
            Ok((SignedQuote(2), 500_000))
        );
        assert_eq!(
            funding_owed(SignedLots(-1), 1_500_000),
            Ok((SignedQuote(-1), 500_000))
        );
    }

    proptest! {
        #[test]
        fn funding_is_zero_sum_up_to_the_residue_and_never_favours_a_position(
            longs in proptest::collection::vec(1i64..1_000_000, 1..6),
            shorts_cut in proptest::collection::vec(1u8..100, 0..4),
            delta in -10_000_000_000i64..10_000_000_000,
        ) {
            // Shorts hold exactly the longs' total, split in a few pieces.
            let total: i64 = longs.iter().sum();
            let mut shorts = std::vec::Vec::new();
            let mut left = total;
            for cut in shorts_cut {
                let piece = (left * cut as i64 / 100).max(0);
                if piece > 0 && piece < left { shorts.push(-piece); left -= piece; }
            }
            shorts.push(-left);
            let mut paid = 0i128;
            let mut residue = 0i128;
            for size in longs.iter().chain(shorts.iter()) {
                let (owed, r) = funding_owed(SignedLots(*size), delta).unwrap();
                let exact = *size as i128 * delta as i128;
                prop_assert!(owed.0 * FUNDING_INDEX_SCALE >= exact);
                prop_assert!((0..FUNDING_INDEX_SCALE).contains(&r));
                paid += owed.0;
                residue += r;
            }
            // What positions pay in total is exactly the residue, a whole number of atoms.
            prop_assert_eq!(paid * FUNDING_INDEX_SCALE, residue);
        }
    }
}
