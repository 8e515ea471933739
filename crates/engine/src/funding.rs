//! Funding (DESIGN.md §10): a cumulative index per market in `1/FUNDING_INDEX_SCALE` quote atoms
//! per lot. Each crank moves it by `rate · P · elapsed / interval`, where the rate is the mark's
//! premium over the oracle, clamped; positions settle against it lazily. Longs pay shorts when the
//! index rises. Settlement rounds against the position, so funding is zero-sum up to a residue
//! that stays with the system (the program sweeps it to insurance).
//!
//! The premium is one that a quote cannot move for free: an *impact* premium (what it costs to
//! fill a set notional on each side, against the oracle, after Binance's premium index) averaged
//! over *time* since the last crank (each change of the book closes a period at the premium that
//! held through it). A quote placed and cancelled around a crank lives no time and weighs
//! nothing; a quote that does rest moves the premium only when it, with the liquidity around it,
//! fills the impact notional beyond the oracle, where anyone can trade against it.

use crate::{
    book::{within_band, OrderSide, RestingOrder},
    math, Book, EngineError, EngineResult, MarginTiers, Price, RatePpm, SignedLots, SignedQuote,
    PPM,
};

/// Index units per quote atom per lot.
pub const FUNDING_INDEX_SCALE: i128 = PPM as i128;

/// The margin, in whole quote units, whose notional at the market's highest leverage is the
/// impact notional: 200, as Binance's impact margin.
pub const IMPACT_MARGIN_UNITS: u64 = 200;

/// The impact notional in quote atoms: what `IMPACT_MARGIN_UNITS` of margin opens at the first
/// tier's initial rate (`200 / 1%` = 20,000 USDC for the default tiers), rounded up.
pub fn impact_notional(quote_decimals: u8, tiers: &MarginTiers) -> EngineResult<u64> {
    let margin = math::mul(
        IMPACT_MARGIN_UNITS as i128,
        math::pow10(quote_decimals as u32)?,
    )?;
    let rate = tiers.as_slice()[0].initial_rate.0 as i128;
    let notional = math::div_ceil(math::mul(margin, PPM as i128)?, rate)?;
    u64::try_from(notional).map_err(|_| EngineError::MathOverflow)
}

/// The average price at which `notional` quote atoms fill against the resting `orders` of one
/// book side (sorted worst to best, as `BookSide` keeps them; `side` is theirs), best first,
/// counting only orders within `band` of `oracle` (the others would be cancelled as stale when
/// reached). The last order counted takes the whole lots the rest needs. Rounded toward the
/// oracle's side of the book (bids down, asks up), so that rounding never adds premium. `None`
/// when the side holds less than `notional` within the band.
pub fn impact_price(
    side: OrderSide,
    orders: &[RestingOrder],
    oracle: Price,
    band: RatePpm,
    notional: u64,
) -> EngineResult<Option<Price>> {
    if notional == 0 {
        return Err(EngineError::MathOverflow);
    }
    let target = notional as i128;
    let (mut quote, mut lots) = (0i128, 0i128);
    for order in orders.iter().rev() {
        let price = Price(order.price);
        if order.price == 0 || !within_band(price, oracle, band) {
            continue;
        }
        let value = math::mul(order.lots as i128, order.price as i128)?;
        if math::add(quote, value)? < target {
            quote = math::add(quote, value)?;
            lots = math::add(lots, order.lots as i128)?;
        } else {
            // The last order counted: only the whole lots the notional still needs (one division
            // per walk, not one per order).
            let needed = math::div_ceil(math::sub(target, quote)?, order.price as i128)?;
            quote = math::add(quote, math::mul(needed, order.price as i128)?)?;
            lots = math::add(lots, needed)?;
            let average = match side {
                OrderSide::Bid => math::div_floor(quote, lots)?,
                OrderSide::Ask => math::div_ceil(quote, lots)?,
            };
            return u64::try_from(average)
                .map(|p| Some(Price(p)))
                .map_err(|_| EngineError::MathOverflow);
        }
    }
    Ok(None)
}

/// The book's impact premium over `oracle`, in signed ppm, rounded toward zero:
/// `(max(0, impact bid − P) − max(0, P − impact ask)) / P`. It is positive only when a seller
/// of the impact notional would get more than the oracle (longs pay), negative only when a buyer
/// would pay less; a side too thin to fill the notional within the band counts as the oracle.
/// The impact bid is never above the impact ask, so at most one of the two terms is non-zero.
pub fn impact_premium(
    book: &Book,
    oracle: Price,
    band: RatePpm,
    notional: u64,
) -> EngineResult<i64> {
    impact_premium_of(
        book.bids.orders(),
        book.asks.orders(),
        oracle,
        band,
        notional,
    )
}

/// `impact_premium` of a book given as its two sides' orders, each worst to best as a book side
/// keeps them (a reader can leave some orders out, e.g. to see what the rest of the book sets).
pub fn impact_premium_of(
    bids: &[RestingOrder],
    asks: &[RestingOrder],
    oracle: Price,
    band: RatePpm,
    notional: u64,
) -> EngineResult<i64> {
    if oracle.0 == 0 {
        return Err(EngineError::InvalidOraclePrice);
    }
    let p = oracle.0 as i128;
    let bid = impact_price(OrderSide::Bid, bids, oracle, band, notional)?;
    let ask = impact_price(OrderSide::Ask, asks, oracle, band, notional)?;
    let above = bid.map_or(0, |b| (b.0 as i128 - p).max(0));
    let below = ask.map_or(0, |a| (p - a.0 as i128).max(0));
    let premium = math::div_trunc(math::mul(above - below, PPM as i128)?, p)?;
    i64::try_from(premium).map_err(|_| EngineError::MathOverflow)
}

/// The time-weighted premium of a market's book since its last funding crank: the premium as the
/// book stood after the last change (`premium_ppm`, from `sampled_at`) and the integral of the
/// premium over time before that (`sum`, in ppm·seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PremiumClock {
    pub premium_ppm: i64,
    pub sampled_at: i64,
    pub sum: i64,
}

impl PremiumClock {
    /// At `now`, after a change of the book: the period since the last sample is closed at the
    /// premium that held through it, and `premium_ppm` (the book's premium now) holds from now
    /// on. A quote placed and cancelled within one second (one transaction) adds nothing.
    pub fn sample(&mut self, now: i64, premium_ppm: i64) -> EngineResult<()> {
        let held = now.saturating_sub(self.sampled_at).max(0);
        let weighted = math::mul(self.premium_ppm as i128, held as i128)?;
        self.sum = i64::try_from(math::add(self.sum as i128, weighted)?)
            .map_err(|_| EngineError::MathOverflow)?;
        self.sampled_at = self.sampled_at.max(now);
        self.premium_ppm = premium_ppm;
        Ok(())
    }

    /// The average premium over the `elapsed` seconds since the last crank (sample at the crank
    /// first), rounded toward zero; the sum starts again from zero.
    pub fn take_average(&mut self, elapsed: i64) -> EngineResult<i64> {
        if elapsed <= 0 {
            return Err(EngineError::MathOverflow);
        }
        let average = math::div_trunc(self.sum as i128, elapsed as i128)?;
        self.sum = 0;
        i64::try_from(average).map_err(|_| EngineError::MathOverflow)
    }
}

/// The funding rate for an average premium: clamped to `±max_rate` ppm per interval.
pub fn rate_from_premium(premium_ppm: i64, max_rate: RatePpm) -> i64 {
    let max = max_rate.0 as i64;
    premium_ppm.clamp(-max, max)
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
        // An average premium of 1,333 ppm is clamped to a 1,000 ppm (0.1%) maximum per interval,
        // and kept when the cap is higher.
        assert_eq!(rate_from_premium(1_333, RatePpm(10_000)), 1_333);
        assert_eq!(rate_from_premium(1_333, RatePpm(1_000)), 1_000);
        assert_eq!(rate_from_premium(-1_333, RatePpm(1_000)), -1_000);
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

    use crate::book::{BookSide, BOOK_SIDE_CAPACITY};
    use crate::margin::tests::sample_tiers;
    use std::boxed::Box;

    const P: u64 = 60_000_000;
    const BAND: RatePpm = RatePpm(50_000);
    const IMPACT: u64 = 20_000_000_000;

    fn empty_book() -> Box<Book> {
        let side = BookSide {
            len: 0,
            orders: [RestingOrder::default(); BOOK_SIDE_CAPACITY],
        };
        Box::new(Book {
            next_order_id: 1,
            bids: side,
            asks: side,
        })
    }

    fn rest(book: &mut Book, side: OrderSide, price: u64, lots: u64) {
        book.rest(side, [7; 32], Price(price), crate::BaseLots(lots), 0, false)
            .unwrap();
    }

    #[test]
    fn worked_impact_notional_prices_and_premium() {
        // 200 USDC of margin at the first tier's 1% initial rate: 20,000 USDC.
        assert_eq!(impact_notional(6, &sample_tiers()), Ok(IMPACT));
        let mut book = empty_book();
        // 100 lots bid at 60.06 and 300 at 60.00 around an oracle of 60. Selling 20,000 USDC
        // takes the 100 lots (6,006 USDC) and ceil(13,994 / 60) = 234 lots at 60: 20,046 USDC
        // for 334 lots, 60.017964 a lot (rounded down): 299 ppm over the oracle.
        rest(&mut book, OrderSide::Bid, 60_000_000, 300);
        rest(&mut book, OrderSide::Bid, 60_060_000, 100);
        assert_eq!(
            impact_price(OrderSide::Bid, book.bids.orders(), Price(P), BAND, IMPACT),
            Ok(Some(Price(60_017_964)))
        );
        // No asks: that side counts as the oracle.
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(299));
        // Asks of 400 lots at 60.01: the impact ask is above the oracle and adds nothing.
        rest(&mut book, OrderSide::Ask, 60_010_000, 400);
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(299));
    }

    #[test]
    fn one_lot_quotes_do_not_move_the_impact_premium() {
        // The attack of issue 13: 1-lot quotes at 62.90 / 63.00 around an oracle of 60 (a mid
        // 4.9% above it). Alone they fill 62.90 of a 20,000 USDC impact notional: too thin.
        let mut book = empty_book();
        rest(&mut book, OrderSide::Bid, 62_900_000, 1);
        rest(&mut book, OrderSide::Ask, 63_000_000, 1);
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(0));
        // Over real bids of 400 lots at 59.99: 62.90 + 333 lots at 59.99 average 59.998712,
        // below the oracle: still nothing.
        let mut book = empty_book();
        rest(&mut book, OrderSide::Bid, 59_990_000, 400);
        rest(&mut book, OrderSide::Bid, 62_900_000, 1);
        assert_eq!(
            impact_price(OrderSide::Bid, book.bids.orders(), Price(P), BAND, IMPACT),
            Ok(Some(Price(59_998_712)))
        );
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(0));
        // Orders outside the band around the oracle (stale, cancelled when reached) do not count:
        // 400 lots asked at 56.90 are 5.17% under 60.
        let mut book = empty_book();
        rest(&mut book, OrderSide::Ask, 56_900_000, 400);
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(0));
        // At 57.00 they are inside: a buyer of 20,000 USDC pays 57, 5% under the oracle.
        let mut book = empty_book();
        rest(&mut book, OrderSide::Ask, 57_000_000, 400);
        assert_eq!(impact_premium(&book, Price(P), BAND, IMPACT), Ok(-50_000));
    }

    #[test]
    fn worked_time_weighted_premium() {
        let mut clock = PremiumClock::default();
        // Quotes placed at 1,000 s and cancelled in the same second: no weight at all.
        clock.sample(1_000, 49_166).unwrap();
        clock.sample(1_000, 0).unwrap();
        clock.sample(3_600, 0).unwrap();
        assert_eq!(clock.take_average(3_600), Ok(0));
        // 1,000 ppm for the first 1,800 s of an hour, then 0: 500 ppm.
        let mut clock = PremiumClock {
            premium_ppm: 1_000,
            sampled_at: 0,
            sum: 0,
        };
        clock.sample(1_800, 0).unwrap();
        clock.sample(3_600, 0).unwrap();
        assert_eq!(clock.take_average(3_600), Ok(500));
        assert_eq!(clock.sum, 0, "the next interval starts from zero");
        // Capped to the market's rate limit.
        assert_eq!(rate_from_premium(-50_000, RatePpm(1_000)), -1_000);
        assert_eq!(rate_from_premium(500, RatePpm(1_000)), 500);
    }

    proptest! {
        #[test]
        fn quotes_that_live_no_time_weigh_nothing(
            periods in proptest::collection::vec((1i64..5_000, -500_000i64..500_000), 1..20),
            flashes in proptest::collection::vec((0usize..20, -500_000i64..500_000), 0..10),
        ) {
            // The same book history with and without quotes placed and cancelled within a
            // second (a transaction) around any sample: the same average premium.
            let run = |with_flashes: bool| {
                let mut clock = PremiumClock::default();
                let mut now = 0i64;
                for (i, (held, premium)) in periods.iter().enumerate() {
                    if with_flashes {
                        for (at, flash) in &flashes {
                            if *at == i {
                                let before = clock.premium_ppm;
                                clock.sample(now, *flash).unwrap();
                                clock.sample(now, before).unwrap();
                            }
                        }
                    }
                    clock.sample(now, *premium).unwrap();
                    now += held;
                }
                clock.sample(now, 0).unwrap();
                clock.take_average(now).unwrap()
            };
            let average = run(false);
            prop_assert_eq!(average, run(true));
            // The average lies within the premiums that held.
            let lo = periods.iter().map(|p| p.1).min().unwrap().min(0);
            let hi = periods.iter().map(|p| p.1).max().unwrap().max(0);
            prop_assert!(lo <= average && average <= hi);
        }

        #[test]
        fn the_impact_premium_is_backed_by_liquidity_inside_the_band(
            orders in proptest::collection::vec((any::<bool>(), 54_000_000u64..66_000_000, 1u64..400), 0..40),
            oracle in 57_000_000u64..63_000_000,
        ) {
            let mut book = empty_book();
            for (bid, price, lots) in orders {
                let side = if bid { OrderSide::Bid } else { OrderSide::Ask };
                let price = price / 10_000 * 10_000;
                if !book.would_cross(side, Price(price)) {
                    rest(&mut book, side, price, lots);
                }
            }
            let oracle = Price(oracle);
            let premium = impact_premium(&book, oracle, BAND, IMPACT).unwrap();
            prop_assert!(premium.abs() <= BAND.0 as i64);
            let in_band = |orders: &[RestingOrder], beyond: &dyn Fn(u64) -> bool| -> i128 {
                orders
                    .iter()
                    .filter(|o| within_band(Price(o.price), oracle, BAND) && beyond(o.price))
                    .map(|o| o.price as i128 * o.lots as i128)
                    .sum()
            };
            // A positive premium needs more than the impact notional bid within the band, some of
            // it above the oracle; a negative one the same of asks, some below it.
            if premium > 0 {
                prop_assert!(in_band(book.bids.orders(), &|_| true) >= IMPACT as i128);
                prop_assert!(in_band(book.bids.orders(), &|p| p > oracle.0) > 0);
            }
            if premium < 0 {
                prop_assert!(in_band(book.asks.orders(), &|_| true) >= IMPACT as i128);
                prop_assert!(in_band(book.asks.orders(), &|p| p < oracle.0) > 0);
            }
        }
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
