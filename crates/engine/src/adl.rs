//! Auto-deleveraging (DESIGN.md §8): the published BitMEX ranking, an exact order on it, the
//! queue indicator, the top-K ranking a sweep keeps, and what each ranked candidate gives up.
//!
//! With mark value `M = |q|·P`, `pnl% = U / |Q|` and effective leverage `L = M / E`:
//! `score = pnl% · L = (U·M) / (|Q|·E)` when `U > 0`, else `pnl% / L = (U·E) / (|Q|·M)`.
//! Scores are kept as exact fractions and compared by cross-multiplication in 256 bits, so the
//! program and the keeper agree on every order; equal scores fall back to the position address.

use core::cmp::Ordering;

use crate::{
    math, BaseLots, EngineError, EngineResult, MarginTiers, PositionSide, PositionState, Price,
    RatePpm, SignedLots, SignedPrice, SignedQuote,
};

/// A position's ADL score as the exact fraction `±num / den` (`den > 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdlScore {
    pub negative: bool,
    pub num: u128,
    pub den: u128,
}

/// Whether a position may be deleveraged against a bankrupt position (DESIGN.md §8), judged in
/// this order; the program refuses each failing case with its own error, and the keeper ranks
/// with the same verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdlEligibility {
    Eligible,
    /// Flat, or on the bankrupt position's side.
    NotOtherSide,
    /// Unrealized PnL at the oracle is zero or negative.
    NotProfitable,
    /// Below maintenance margin itself: liquidation, not ADL, is its path.
    Liquidatable,
    /// Its equity cannot pay the haircut of a single lot at the fill price (`sweep_eligibility`).
    NoCapacity,
}

/// Judges `state` (funding settled) as a candidate against a bankrupt position on
/// `bankrupt_side`, at `oracle`.
pub fn adl_eligibility(
    state: &PositionState,
    bankrupt_side: PositionSide,
    oracle: Price,
    tiers: &MarginTiers,
) -> EngineResult<AdlEligibility> {
    if state.side().is_none_or(|side| side == bankrupt_side) {
        return Ok(AdlEligibility::NotOtherSide);
    }
    if state.unrealized_pnl(oracle)?.0 <= 0 {
        return Ok(AdlEligibility::NotProfitable);
    }
    if state.health(oracle, tiers, RatePpm::ONE)?.is_liquidatable() {
        return Ok(AdlEligibility::Liquidatable);
    }
    Ok(AdlEligibility::Eligible)
}

/// Whether a sweep ranks `state` (funding settled) against an ADL book on `book_side` that would
/// close at `fill_price`, judged at the `snapshot` price: `adl_eligibility`, and then able to
/// give at least one lot (`adl_capacity`). A position whose equity cannot pay a single lot's
/// haircut would be passed over at every fill while its high score (tiny equity) kept others
/// out of the ranking, sweep after sweep.
pub fn sweep_eligibility(
    state: &PositionState,
    book_side: PositionSide,
    fill_price: SignedPrice,
    snapshot: Price,
    tiers: &MarginTiers,
) -> EngineResult<AdlEligibility> {
    let verdict = adl_eligibility(state, book_side, snapshot, tiers)?;
    if verdict == AdlEligibility::Eligible
        && adl_capacity(state, fill_price, snapshot, tiers)?.0 == 0
    {
        return Ok(AdlEligibility::NoCapacity);
    }
    Ok(verdict)
}

/// `a · b` as a 256-bit `(high, low)` pair.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a_hi, a_lo) = ((a >> 64) as u64, a as u64);
    let (b_hi, b_lo) = ((b >> 64) as u64, b as u64);
    let lo_lo = math::mul_wide_u64(a_lo, b_lo);
    let hi_lo = math::mul_wide_u64(a_hi, b_lo);
    let lo_hi = math::mul_wide_u64(a_lo, b_hi);
    let hi_hi = math::mul_wide_u64(a_hi, b_hi);
    let middle = (lo_lo >> 64) + (hi_lo & MASK) + (lo_hi & MASK);
    let low = (middle << 64) | (lo_lo & MASK);
    let high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
    (high, low)
}

impl Ord for AdlScore {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) if self.num != 0 || other.num != 0 => Ordering::Greater,
            (true, false) if self.num != 0 || other.num != 0 => Ordering::Less,
            _ => {
                // Same sign (or both zero): compare |a| = num/den by cross products.
                let magnitude = mul_wide(self.num, other.den).cmp(&mul_wide(other.num, self.den));
                if self.negative {
                    magnitude.reverse()
                } else {
                    magnitude
                }
            }
        }
    }
}

impl PartialOrd for AdlScore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn magnitude(value: SignedQuote) -> u128 {
    value.0.unsigned_abs()
}

/// The ADL score of `state` at `price`. A flat position, or one with no positive equity, has
/// none (it cannot be a candidate).
pub fn adl_score(state: &PositionState, price: Price) -> EngineResult<AdlScore> {
    if state.size.is_zero() || state.cost_basis.0 == 0 {
        return Err(EngineError::FlatPosition);
    }
    let pnl = state.unrealized_pnl(price)?;
    let equity = state.equity(price)?;
    if equity.0 <= 0 {
        return Err(EngineError::NoBankruptcyPrice);
    }
    let mark = magnitude(state.notional(price)?);
    let entry = magnitude(state.cost_basis);
    let (pnl_abs, equity) = (magnitude(pnl), equity.0 as u128);
    let product = |a, b| math::checked_mul_u128(a, b).ok_or(EngineError::MathOverflow);
    let (num, den) = if pnl.0 > 0 {
        (product(pnl_abs, mark)?, product(entry, equity)?)
    } else {
        (product(pnl_abs, equity)?, product(entry, mark.max(1))?)
    };
    Ok(AdlScore {
        negative: pnl.0 < 0,
        num,
        den,
    })
}

/// The deleveraging order: higher score first; equal scores by ascending position address.
pub fn adl_order(a: (&AdlScore, &[u8; 32]), b: (&AdlScore, &[u8; 32])) -> Ordering {
    b.0.cmp(a.0).then_with(|| a.1.cmp(b.1))
}

/// The ADL indicator of a position in a ranked list, as BitMEX shows it: 5 lights for the top
/// 20% of the side's size, down to 1 for the last 20%. `lots_ranked_through` is the size of
/// every position ranked at or above this one, itself included; `total_lots` the side's total.
pub fn adl_indicator(lots_ranked_through: u64, total_lots: u64) -> u8 {
    if total_lots == 0 {
        return 1;
    }
    let (quotient, rest) = math::div_rem_u128(
        math::mul_wide_u64(lots_ranked_through, 5),
        total_lots as u128,
    );
    let quintile = (quotient + (rest != 0) as u128).clamp(1, 5);
    (6 - quintile) as u8
}

/// How many lots a candidate of `state` can close at `bankruptcy_price` (a `Price`, or a negative
/// `SignedPrice` for a short that lost more than it sold for) when the oracle is at `oracle`: a
/// fill at a worse price than the oracle costs it `|Pb − P|` a lot (a haircut on its profit). It may close everything if its equity covers that; otherwise only as many lots as
/// leave the rest of it with non-negative equity and above maintenance margin, so ADL never makes
/// a healthy position liquidatable (DESIGN.md §12.4).
pub fn adl_capacity(
    state: &PositionState,
    bankruptcy_price: impl Into<SignedPrice>,
    oracle: Price,
    tiers: &MarginTiers,
) -> EngineResult<BaseLots> {
    let bankruptcy_price = bankruptcy_price.into();
    let oracle_signed = SignedPrice::from(oracle);
    let side = match state.side() {
        Some(side) => side,
        None => return Ok(BaseLots(0)),
    };
    let size = state.size.abs();
    let equity = state.equity(oracle)?.0;
    if equity < 0 {
        return Ok(BaseLots(0));
    }
    let haircut = math::sub(bankruptcy_price.0, oracle_signed.0)?.abs();
    let worse = match side {
        PositionSide::Long => bankruptcy_price < oracle_signed,
        PositionSide::Short => bankruptcy_price > oracle_signed,
    };
    // A fill at the oracle or better costs nothing; closing all of it needs only E ≥ size · h.
    if !worse || haircut == 0 || equity >= math::mul(size.0 as i128, haircut)? {
        return Ok(size);
    }
    let close = |lots: u64| -> EngineResult<SignedLots> {
        Ok(SignedLots(match side {
            PositionSide::Long => -(lots as i64),
            PositionSide::Short => lots as i64,
        }))
    };
    let remainder_healthy = |lots: u64| -> EngineResult<bool> {
        let mut after = PositionState {
            open_bids: BaseLots(0),
            open_asks: BaseLots(0),
            ..*state
        };
        after.apply_fill(close(lots)?, bankruptcy_price)?;
        let health = after.health(oracle, tiers, RatePpm::ONE)?;
        Ok(health.equity.0 >= 0 && !health.is_liquidatable())
    };
    // Feasible for no lots (a candidate is not liquidatable); find the largest feasible count up
    // to what the equity can pay, and verify it.
    let most =
        u64::try_from(math::div_floor(equity, haircut)?).map_err(|_| EngineError::MathOverflow)?;
    if remainder_healthy(most)? {
        return Ok(BaseLots(most));
    }
    let (mut low, mut high) = (0u64, most);
    while low + 1 < high {
        let mid = low + (high - low) / 2;
        if remainder_healthy(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(BaseLots(if remainder_healthy(low)? { low } else { 0 }))
}

/// The price at which ADL closes a candidate against the market's ADL book on `book_side`: the
/// book's bankruptcy price while that is worse for the candidate than the oracle (the candidate's
/// haircut pays the book's deficit), else the oracle (a solvent book costs no one anything, and
/// what it has left goes to the insurance vault). The same rule as a liquidation's full close:
/// `max(Pb, P)` against a long book, `min(Pb, P)` against a short one (DESIGN.md §8).
pub fn adl_fill_price(
    book_side: PositionSide,
    bankruptcy_price: SignedPrice,
    oracle: Price,
) -> SignedPrice {
    let oracle = SignedPrice::from(oracle);
    match book_side {
        PositionSide::Long => bankruptcy_price.max(oracle),
        PositionSide::Short => bankruptcy_price.min(oracle),
    }
}

/// How many lots a ranked candidate (funding settled) gives up now: nothing if it is no longer on
/// `candidate_side` or is liquidatable itself; else its size, capped by what is left of its
/// snapshot lots (`ranked_lots`: resizing after the sweep cannot make it give more), by
/// `adl_capacity` at `fill_price` (never below zero equity or into liquidation) and by the book's
/// `book_lots`.
pub fn adl_fill_lots(
    state: &PositionState,
    candidate_side: PositionSide,
    fill_price: SignedPrice,
    oracle: Price,
    tiers: &MarginTiers,
    ranked_lots: u64,
    book_lots: u64,
) -> EngineResult<BaseLots> {
    if state.side() != Some(candidate_side)
        || state.health(oracle, tiers, RatePpm::ONE)?.is_liquidatable()
    {
        return Ok(BaseLots(0));
    }
    let capacity = adl_capacity(state, fill_price, oracle, tiers)?;
    Ok(BaseLots(capacity.0.min(ranked_lots).min(book_lots)))
}

/// Where a candidate of `score` at address `key` enters a ranking of `len` entries kept in
/// `adl_order` (`entry(i)` reads the i-th), when only the best `capacity` are kept: `None` when
/// it ranks below all of them. Binary search: the place depends only on the scores and addresses,
/// never on the order in which candidates arrive, so a sweep in chunks landing in any order ends
/// with the same ranking. A candidate below a full ranking's last entry, the common case in a
/// large market, costs one comparison.
pub fn ranking_place(
    len: usize,
    capacity: usize,
    entry: impl Fn(usize) -> (AdlScore, [u8; 32]),
    score: &AdlScore,
    key: &[u8; 32],
) -> Option<usize> {
    if capacity == 0 {
        return None;
    }
    if len >= capacity {
        let (last_score, last_key) = entry(capacity - 1);
        if adl_order((&last_score, &last_key), (score, key)) == Ordering::Less {
            return None;
        }
    }
    let (mut low, mut high) = (0, len.min(capacity));
    while low < high {
        let mid = low + (high - low) / 2;
        let (mid_score, mid_key) = entry(mid);
        if adl_order((&mid_score, &mid_key), (score, key)) == Ordering::Less {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    (low < capacity).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::margin::tests::sample_tiers;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn score(n: u128) -> AdlScore {
        AdlScore {
            negative: false,
            num: n,
            den: 1,
        }
    }

    #[test]
    fn the_bitmex_ranking_example_with_six_longs() {
        // BitMEX's ADL page: accounts 1–6 with quantities and PnL ranking scores.
        let accounts: [(u8, u64, u128); 6] = [
            (1, 10, 3),
            (2, 10, 6),
            (3, 20, 1),
            (4, 30, 4),
            (5, 20, 5),
            (6, 10, 2),
        ];
        let mut ranked: Vec<_> = accounts
            .iter()
            .map(|&(a, q, s)| (score(s), [a; 32], q))
            .collect();
        ranked.sort_by(|a, b| adl_order((&a.0, &a.1), (&b.0, &b.1)));
        let order: Vec<u8> = ranked.iter().map(|r| r.1[0]).collect();
        assert_eq!(order, [2, 5, 4, 1, 6, 3]);
        // Percentiles 20, 40, 60, 80, 80, 100 % by size ranked at or above: lights 5, 4, 3, 2, 2, 1.
        let total: u64 = ranked.iter().map(|r| r.2).sum();
        let mut through = 0;
        let lights: Vec<u8> = ranked
            .iter()
            .map(|r| {
                through += r.2;
                adl_indicator(through, total)
            })
            .collect();
        assert_eq!(lights, [5, 4, 3, 2, 2, 1]);
        // A short of 20 liquidated at a bankruptcy price of 650: account 2 closes all 10 and
        // account 5 the other 10 of its 20.
        let longs: Vec<PositionState> = ranked
            .iter()
            .map(|r| PositionState {
                collateral: SignedQuote(1_000_000),
                size: SignedLots(r.2 as i64),
                cost_basis: SignedQuote(r.2 as i128 * 600),
                ..Default::default()
            })
            .collect();
        let (fills, left) = fill_down(&longs, 20, SignedPrice(650), Price(650));
        assert_eq!(fills, [(0, 10), (1, 10)]);
        assert_eq!(left, 0);
    }

    /// The program's `adl` loop: down the ranking, each candidate giving `adl_fill_lots` (its
    /// snapshot lots being its size), until the book is closed. The long book's side is the other.
    fn fill_down(
        ranked: &[PositionState],
        mut book_lots: u64,
        fill_price: SignedPrice,
        oracle: Price,
    ) -> (Vec<(usize, u64)>, u64) {
        let mut fills = Vec::new();
        for (index, state) in ranked.iter().enumerate() {
            let side = state.side().unwrap();
            let lots = adl_fill_lots(
                state,
                side,
                fill_price,
                oracle,
                &sample_tiers(),
                state.size.abs().0,
                book_lots,
            )
            .unwrap()
            .0;
            if lots > 0 {
                fills.push((index, lots));
                book_lots -= lots;
            }
        }
        (fills, book_lots)
    }

    #[test]
    fn the_fill_price_is_the_bankruptcy_price_while_the_book_is_insolvent_else_the_oracle() {
        let oracle = Price(100);
        // A long book bankrupt at 110 above an oracle of 100: the shorts buy back at 110.
        assert_eq!(
            adl_fill_price(PositionSide::Long, SignedPrice(110), oracle),
            SignedPrice(110)
        );
        // Solvent (bankrupt at 90 under an oracle of 100): at the oracle, no haircut.
        assert_eq!(
            adl_fill_price(PositionSide::Long, SignedPrice(90), oracle),
            SignedPrice(100)
        );
        // A short book mirrors it, negative bankruptcy prices included.
        assert_eq!(
            adl_fill_price(PositionSide::Short, SignedPrice(-11), oracle),
            SignedPrice(-11)
        );
        assert_eq!(
            adl_fill_price(PositionSide::Short, SignedPrice(120), oracle),
            SignedPrice(100)
        );
    }

    #[test]
    fn a_ranked_candidate_gives_no_more_than_its_snapshot_lots_and_nothing_once_it_flipped() {
        let t = sample_tiers();
        let short = PositionState {
            collateral: SignedQuote(1_000),
            size: SignedLots(-10),
            cost_basis: SignedQuote(-1_000),
            ..Default::default()
        };
        let fill = |state: &PositionState, ranked: u64, book: u64| {
            adl_fill_lots(
                state,
                PositionSide::Short,
                SignedPrice(95),
                Price(90),
                &t,
                ranked,
                book,
            )
            .unwrap()
            .0
        };
        assert_eq!(fill(&short, 10, 100), 10);
        // It grew to 10 after the sweep ranked it at 4: it gives 4.
        assert_eq!(fill(&short, 4, 100), 4);
        assert_eq!(fill(&short, 10, 3), 3);
        let long = PositionState {
            size: SignedLots(10),
            cost_basis: SignedQuote(1_000),
            ..short
        };
        assert_eq!(fill(&long, 10, 100), 0);
        assert_eq!(fill(&PositionState::default(), 10, 100), 0);
    }

    #[test]
    fn worked_scores_for_profit_and_loss() {
        // Long 10 lots from 100 (Q = 1,000) with 200 collateral, at 120: U = 200, M = 1,200,
        // E = 400: pnl% = 0.2, L = 3, score 0.6 = (200·1,200)/(1,000·400).
        let long = PositionState {
            collateral: SignedQuote(200),
            size: SignedLots(10),
            cost_basis: SignedQuote(1_000),
            ..Default::default()
        };
        let s = adl_score(&long, Price(120)).unwrap();
        assert_eq!(
            s,
            AdlScore {
                negative: false,
                num: 240_000,
                den: 400_000
            }
        );
        assert_eq!(
            s.cmp(&AdlScore {
                negative: false,
                num: 3,
                den: 5
            }),
            Ordering::Equal
        );
        // At 90: U = −100, E = 100, M = 900: pnl% = −0.1, L = 9, score −0.1/9 = −1/90.
        let s = adl_score(&long, Price(90)).unwrap();
        assert_eq!(
            s.cmp(&AdlScore {
                negative: true,
                num: 1,
                den: 90
            }),
            Ordering::Equal
        );
        assert!(
            s < AdlScore {
                negative: false,
                num: 0,
                den: 1
            }
        );
        // More leverage on the same profit ranks higher.
        let levered = PositionState {
            collateral: SignedQuote(100),
            ..long
        };
        assert!(adl_score(&levered, Price(120)).unwrap() > adl_score(&long, Price(120)).unwrap());
        // Under water at any equity: no score.
        assert!(adl_score(&long, Price(70)).is_err());
    }

    #[test]
    fn a_candidates_fill_is_capped_so_its_equity_stays_non_negative() {
        // Short 10 from 100 with 5 collateral, oracle 90: equity 105. Closing at a bankruptcy
        // price of 110 costs 20 a lot against the oracle: at most 5 lots.
        let short = PositionState {
            collateral: SignedQuote(5),
            size: SignedLots(-10),
            cost_basis: SignedQuote(-1_000),
            ..Default::default()
        };
        // Its equity pays for at most 5 lots (105 / 20); after 5 the other 5 hold 5 of equity
        // against a maintenance margin of 0.5% of 450 = 2.25: still healthy, so 5.
        let t = sample_tiers();
        assert_eq!(
            adl_capacity(&short, Price(110), Price(90), &t),
            Ok(BaseLots(5))
        );
        assert_eq!(
            adl_capacity(&short, Price(80), Price(90), &t),
            Ok(BaseLots(10))
        );
        let mut after = short;
        after.apply_fill(SignedLots(5), Price(110)).unwrap();
        assert!(!after
            .health(Price(90), &t, RatePpm::ONE)
            .unwrap()
            .is_liquidatable());
        // With 1 of collateral, 5 lots would leave 1 against 2.25: liquidatable. 4 lots leave 21
        // against 0.5% of 540 = 2.7: healthy, so 4.
        let poorer = PositionState {
            collateral: SignedQuote(1),
            ..short
        };
        assert_eq!(
            adl_capacity(&poorer, Price(110), Price(90), &t),
            Ok(BaseLots(4))
        );
    }

    fn candidate() -> impl Strategy<Value = (PositionState, [u8; 32])> {
        (1i64..10_000, 1u64..1_000, 0i64..100_000, any::<u8>()).prop_map(
            |(size, entry, collateral, key)| {
                (
                    PositionState {
                        collateral: SignedQuote(collateral as i128),
                        size: SignedLots(-size),
                        cost_basis: SignedQuote(-(size as i128) * entry as i128),
                        ..Default::default()
                    },
                    [key; 32],
                )
            },
        )
    }

    #[test]
    fn worked_adl_at_a_negative_bankruptcy_price() {
        // A short of 100 lots sold at 60 that paid 7,200 USDC of funding on 100.60 and got 1.20
        // from the vault: C = −7,098.20 < −|Q| = −6,000. Its bankruptcy price is −10.982.
        let bankrupt = PositionState {
            collateral: SignedQuote(-7_098_200_000),
            size: SignedLots(-100),
            cost_basis: SignedQuote(-6_000_000_000),
            ..Default::default()
        };
        let pb = bankrupt.signed_bankruptcy_price().unwrap();
        assert_eq!(pb, SignedPrice(-10_982_000));
        // A long of 100 from 60 with 27,197 USDC at an oracle of 61 gives up 61 + 10.982 a lot,
        // 7,198.20 in all: its equity (27,297) pays it, so it closes everything.
        let long = PositionState {
            collateral: SignedQuote(27_197_000_000),
            size: SignedLots(100),
            cost_basis: SignedQuote(6_000_000_000),
            ..Default::default()
        };
        let t = sample_tiers();
        assert_eq!(
            adl_capacity(&long, pb, Price(61_000_000), &t),
            Ok(BaseLots(100))
        );
        let mut after = long;
        after.apply_fill(SignedLots(-100), pb).unwrap();
        assert_eq!(after.collateral, SignedQuote(20_098_800_000));
        let mut closed = bankrupt;
        closed.apply_fill(SignedLots(100), pb).unwrap();
        assert_eq!(
            (closed.size, closed.collateral),
            (SignedLots(0), SignedQuote(0))
        );
        // One with 3,000 USDC (equity 3,100) pays for 43 lots at most (43 · 71.982 = 3,095.23),
        // and fewer to stay above maintenance on the 57 left: 42.
        let thin = PositionState {
            collateral: SignedQuote(3_000_000_000),
            ..long
        };
        assert_eq!(
            adl_capacity(&thin, pb, Price(61_000_000), &t),
            Ok(BaseLots(42))
        );
    }

    proptest! {
        #[test]
        fn the_plan_fills_in_strict_rank_order_conserves_lots_and_zeroes_the_bankrupt(
            candidates in proptest::collection::vec(candidate(), 1..12),
            bankrupt_lots in 1i64..20_000,
            entry in 500u64..2_000,
            oracle in 300u64..1_000,
        ) {
            // A bankrupt long at its bankruptcy price.
            let bankrupt = PositionState {
                collateral: SignedQuote(0),
                size: SignedLots(bankrupt_lots),
                cost_basis: SignedQuote(bankrupt_lots as i128 * entry as i128),
                ..Default::default()
            };
            let pb = bankrupt.bankruptcy_price().unwrap();
            let mut ranked: Vec<_> = candidates
                .into_iter()
                .filter_map(|(c, k)| adl_score(&c, Price(oracle)).ok().filter(|s| !s.negative && s.num > 0).map(|s| (s, k, c)))
                .collect();
            ranked.sort_by(|a, b| adl_order((&a.0, &a.1), (&b.0, &b.1)));
            let states: Vec<PositionState> = ranked.iter().map(|r| r.2).collect();
            let t = sample_tiers();
            let fill_price = adl_fill_price(PositionSide::Long, pb.into(), Price(oracle));
            let (fills, left) = fill_down(&states, bankrupt_lots as u64, fill_price, Price(oracle));
            let planned: u64 = fills.iter().map(|f| f.1).sum();
            prop_assert_eq!(planned + left, bankrupt_lots as u64);
            // Strict order: fills go down the ranking, and no candidate gets lots while one
            // ranked above it still had capacity.
            for w in fills.windows(2) { prop_assert!(w[0].0 < w[1].0); }
            for &(index, lots) in &fills {
                let cap = adl_capacity(&states[index], fill_price, Price(oracle), &t).unwrap();
                prop_assert!(lots <= cap.0);
                for earlier in 0..index {
                    let used = fills.iter().find(|g| g.0 == earlier).map_or(0, |g| g.1);
                    let healthy = !states[earlier].health(Price(oracle), &t, RatePpm::ONE).unwrap().is_liquidatable();
                    let expected = if healthy { adl_capacity(&states[earlier], fill_price, Price(oracle), &t).unwrap().0 } else { 0 };
                    prop_assert_eq!(used, expected);
                }
                // No candidate ends below zero equity, nor liquidatable unless closed out.
                let mut after = states[index];
                after.apply_fill(SignedLots(lots as i64), fill_price).unwrap();
                let health = after.health(Price(oracle), &t, RatePpm::ONE).unwrap();
                prop_assert!(health.equity.0 >= 0);
                prop_assert!(after.size.is_zero() || !health.is_liquidatable());
            }
            if left == 0 {
                // Closed at its bankruptcy price, the bankrupt position keeps zero or dust; at the
                // oracle (it was solvent there), its equity at the oracle.
                let mut closed = bankrupt;
                for &(_, lots) in &fills { closed.apply_fill(SignedLots(-(lots as i64)), fill_price).unwrap(); }
                prop_assert_eq!(closed.size, SignedLots(0));
                let kept = if fill_price == SignedPrice::from(pb) { bankrupt_lots as i128 } else { bankrupt.equity(Price(oracle)).unwrap().0 + 1 };
                prop_assert!(closed.collateral.0 >= 0 && closed.collateral.0 < kept);
            }
        }

        #[test]
        fn a_top_k_ranking_built_in_any_order_is_the_top_k_of_the_full_sort(
            scores in proptest::collection::vec((1u64..50, 1u64..50, any::<[u8; 2]>()), 1..60),
            capacity in 1usize..16,
            seed in any::<u64>(),
        ) {
            // Distinct addresses, as in the registry (a position is ranked once a sweep); the
            // random bytes first, so equal scores still order by them.
            let candidates: Vec<(AdlScore, [u8; 32])> = scores
                .iter()
                .enumerate()
                .map(|(i, &(num, den, k))| {
                    let mut key = [0u8; 32];
                    key[..2].copy_from_slice(&k);
                    key[2..4].copy_from_slice(&(i as u16).to_le_bytes());
                    (AdlScore { negative: false, num: num as u128, den: den as u128 }, key)
                })
                .collect();
            // Insert in an arbitrary order (a rotation of the list, reversed for odd seeds).
            let n = candidates.len();
            let mut ranking: Vec<(AdlScore, [u8; 32])> = Vec::new();
            for i in 0..n {
                let i = if seed % 2 == 1 { n - 1 - i } else { i };
                let (score, key) = candidates[(seed as usize + i) % n];
                if let Some(place) = ranking_place(ranking.len(), capacity, |j| ranking[j], &score, &key) {
                    ranking.insert(place, (score, key));
                    ranking.truncate(capacity);
                }
            }
            let mut sorted = candidates.clone();
            sorted.sort_by(|a, b| adl_order((&a.0, &a.1), (&b.0, &b.1)));
            sorted.truncate(capacity);
            prop_assert_eq!(ranking, sorted);
        }

        #[test]
        fn score_order_matches_exact_rational_order(
            a in (1u64..1_000_000, 1u64..1_000_000),
            b in (1u64..1_000_000, 1u64..1_000_000),
        ) {
            let x = AdlScore { negative: false, num: a.0 as u128, den: a.1 as u128 };
            let y = AdlScore { negative: false, num: b.0 as u128, den: b.1 as u128 };
            let expected = (a.0 as u128 * b.1 as u128).cmp(&(b.0 as u128 * a.1 as u128));
            prop_assert_eq!(x.cmp(&y), expected);
            let (nx, ny) = (AdlScore { negative: true, ..x }, AdlScore { negative: true, ..y });
            prop_assert_eq!(nx.cmp(&ny), expected.reverse());
            prop_assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        }
    }

    #[test]
    fn a_sweep_passes_over_a_position_that_cannot_pay_one_lots_haircut() {
        // One lot short from 60.60 with 0.61 of collateral: at 59 it is up 1.60 with equity 2.21,
        // above maintenance, and its tiny equity scores high. Against a long book closing at
        // 61.30 (a haircut of 2.30 a lot) it cannot give a single lot; at 60.50 it can.
        let t = sample_tiers();
        let stuffer = PositionState {
            collateral: SignedQuote(610_000),
            size: SignedLots(-1),
            cost_basis: SignedQuote(-60_600_000),
            ..Default::default()
        };
        let at = |fill: i128| {
            sweep_eligibility(
                &stuffer,
                PositionSide::Long,
                SignedPrice(fill),
                Price(59_000_000),
                &t,
            )
        };
        assert_eq!(
            adl_eligibility(&stuffer, PositionSide::Long, Price(59_000_000), &t),
            Ok(AdlEligibility::Eligible)
        );
        assert_eq!(at(61_300_000), Ok(AdlEligibility::NoCapacity));
        assert_eq!(at(60_500_000), Ok(AdlEligibility::Eligible));
    }

    #[test]
    fn eligibility_is_other_side_then_profitable_then_not_liquidatable() {
        let t = sample_tiers();
        let short = PositionState {
            collateral: SignedQuote(6_000_000_000),
            size: SignedLots(-1_000),
            cost_basis: SignedQuote(-60_000_000_000),
            ..Default::default()
        };
        let at = |price: u64| adl_eligibility(&short, PositionSide::Long, Price(price), &t);
        // Against a bankrupt long at 50: the short is up 10,000 on 6,000 of collateral.
        assert_eq!(at(50_000_000), Ok(AdlEligibility::Eligible));
        assert_eq!(
            adl_eligibility(&short, PositionSide::Short, Price(50_000_000), &t),
            Ok(AdlEligibility::NotOtherSide)
        );
        assert_eq!(
            adl_eligibility(
                &PositionState::default(),
                PositionSide::Long,
                Price(50_000_000),
                &t
            ),
            Ok(AdlEligibility::NotOtherSide)
        );
        // At its entry price it has no profit to give up.
        assert_eq!(at(60_000_000), Ok(AdlEligibility::NotProfitable));
        // Profitable but under water on margin: a short from 60 with 1 USDC, at 59.999.
        let thin = PositionState {
            collateral: SignedQuote(1_000_000),
            ..short
        };
        assert_eq!(
            adl_eligibility(&thin, PositionSide::Long, Price(59_999_000), &t),
            Ok(AdlEligibility::Liquidatable)
        );
    }
}
