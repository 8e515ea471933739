//! One isolated-margin position and its risk figures (DESIGN.md §6).
//!
//! For `q` lots (positive long, negative short), cost basis `Q` (the signed quote paid, so `Q < 0`
//! for a short) and collateral `C` net of pending funding, at price `P`:
//! `U = q·P − Q`, `E = C + U`, `N = |q|·P`, `MM = N·mmr(N)`, `IM = N'·imr(N')` with `N'` the notional
//! of the worst case of the resting orders, `max(|q + bids|, |q − asks|)`.

use crate::{
    math, BaseLots, EngineError, EngineResult, MarginTiers, Price, QuoteAtoms, RatePpm, SignedLots,
    SignedPrice, SignedQuote, PPM,
};

/// The side of a non-flat position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionSide {
    Long,
    Short,
}

impl PositionSide {
    pub fn opposite(self) -> Self {
        match self {
            Self::Long => Self::Short,
            Self::Short => Self::Long,
        }
    }
}

/// The figures of a position that its risk depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PositionState {
    /// Collateral in quote atoms, with funding already settled into it.
    pub collateral: SignedQuote,
    /// Signed size: positive long, negative short.
    pub size: SignedLots,
    /// Signed quote paid for the size: `Σ lots·price` of the fills still open.
    pub cost_basis: SignedQuote,
    /// Lots on resting bids.
    pub open_bids: BaseLots,
    /// Lots on resting asks.
    pub open_asks: BaseLots,
}

/// How a size change moves a market's open interest: `(long lots delta, short lots delta)`.
pub fn open_interest_change(before: SignedLots, after: SignedLots) -> (i128, i128) {
    let long = |s: SignedLots| s.0.max(0) as i128;
    let short = |s: SignedLots| (s.0.min(0) as i128).abs();
    (long(after) - long(before), short(after) - short(before))
}

/// Equity and requirements at one price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginHealth {
    pub equity: SignedQuote,
    pub maintenance: SignedQuote,
    pub initial: SignedQuote,
}

impl MarginHealth {
    /// Equity below maintenance margin: the position may be liquidated.
    pub fn is_liquidatable(&self) -> bool {
        self.equity < self.maintenance
    }

    /// Equity at or above initial margin: the position may add risk or withdraw.
    pub fn meets_initial(&self) -> bool {
        self.equity >= self.initial
    }
}

impl PositionState {
    pub fn side(&self) -> Option<PositionSide> {
        match self.size.0 {
            0 => None,
            s if s > 0 => Some(PositionSide::Long),
            _ => Some(PositionSide::Short),
        }
    }

    /// No size and no resting orders: nothing at risk, so no price is needed to judge it.
    pub fn is_idle(&self) -> bool {
        self.size.is_zero() && self.open_bids.0 == 0 && self.open_asks.0 == 0
    }

    /// `U = q·P − Q`.
    pub fn unrealized_pnl(&self, price: Price) -> EngineResult<SignedQuote> {
        price
            .signed_value_of(self.size)?
            .checked_sub(self.cost_basis)
    }

    /// `N = |q|·P`.
    pub fn notional(&self, price: Price) -> EngineResult<SignedQuote> {
        price.value_of(self.size.abs())
    }

    /// `E = C + U`.
    pub fn equity(&self, price: Price) -> EngineResult<SignedQuote> {
        self.collateral.checked_add(self.unrealized_pnl(price)?)
    }

    /// The size the position would have if every resting order on its worse side filled.
    pub fn worst_case_lots(&self) -> EngineResult<BaseLots> {
        let q = self.size.0 as i128;
        let with_bids = math::add(q, self.open_bids.0 as i128)?.unsigned_abs();
        let with_asks = math::sub(q, self.open_asks.0 as i128)?.unsigned_abs();
        u64::try_from(with_bids.max(with_asks))
            .map(BaseLots)
            .map_err(|_| EngineError::MathOverflow)
    }

    /// Equity, maintenance and initial margin at `price`, the initial rate scaled by the market's
    /// volatility factor (`RatePpm::ONE` for none).
    pub fn health(
        &self,
        price: Price,
        tiers: &MarginTiers,
        initial_factor: RatePpm,
    ) -> EngineResult<MarginHealth> {
        Ok(MarginHealth {
            equity: self.equity(price)?,
            maintenance: tiers.maintenance_margin(self.notional(price)?)?,
            initial: tiers
                .scaled_initial_margin(price.value_of(self.worst_case_lots()?)?, initial_factor)?,
        })
    }

    /// The most collateral that can leave while equity still covers initial margin; all of it
    /// when the position is idle. Never more than the collateral itself. With
    /// `without_unrealized_profit` (a market in ADL, DESIGN.md §8) unrealized profit does not
    /// count toward the equity that backs the withdrawal.
    pub fn max_withdrawal(
        &self,
        price: Price,
        tiers: &MarginTiers,
        initial_factor: RatePpm,
        without_unrealized_profit: bool,
    ) -> EngineResult<QuoteAtoms> {
        let free = if self.is_idle() {
            self.collateral
        } else {
            let health = self.health(price, tiers, initial_factor)?;
            let profit = self.unrealized_pnl(price)?.max(SignedQuote::ZERO);
            let equity = if without_unrealized_profit {
                health.equity.checked_sub(profit)?
            } else {
                health.equity
            };
            equity.checked_sub(health.initial)?
        };
        free.min(self.collateral).max(SignedQuote::ZERO).to_atoms()
    }

    /// Applies a fill of `delta` lots (positive buys, negative sells) at `price`: the part that
    /// reduces the size realizes PnL into collateral, the rest opens at `price`. The closed part
    /// takes its share of the cost basis rounded up (toward +∞), so realized PnL never rounds in
    /// the position's favour and a full close realizes exactly `q·P − Q`. Returns the realized PnL.
    /// The price is a `Price`, or for ADL a `SignedPrice` that may be negative (DESIGN.md §7).
    pub fn apply_fill(
        &mut self,
        delta: SignedLots,
        price: impl Into<SignedPrice>,
    ) -> EngineResult<SignedQuote> {
        let price = price.into();
        let q = self.size.0 as i128;
        let d = delta.0 as i128;
        let closing = if q != 0 && (q > 0) != (d > 0) {
            q.abs().min(d.abs())
        } else {
            0
        };
        let mut realized = SignedQuote::ZERO;
        if closing > 0 {
            let basis_closed = math::div_ceil(math::mul(self.cost_basis.0, closing)?, q.abs())?;
            // Closing a long sells `closing` lots; closing a short buys them back.
            let sold = if q > 0 { closing } else { -closing };
            let proceeds = math::mul(sold, price.0)?;
            realized = SignedQuote(math::sub(proceeds, basis_closed)?);
            self.cost_basis = SignedQuote(math::sub(self.cost_basis.0, basis_closed)?);
            self.collateral = self.collateral.checked_add(realized)?;
        }
        let opening_lots = math::sub(d.abs(), closing)?;
        let opening = if d < 0 { -opening_lots } else { opening_lots };
        self.cost_basis = self
            .cost_basis
            .checked_add(SignedQuote(math::mul(opening, price.0)?))?;
        let size = math::add(q, d)?;
        self.size = SignedLots(i64::try_from(size).map_err(|_| EngineError::MathOverflow)?);
        Ok(realized)
    }

    /// Lots an order on `side` can trade without growing the position (what reduce-only allows).
    pub fn reducible_lots(&self, side: crate::OrderSide) -> BaseLots {
        match (side, self.side()) {
            (crate::OrderSide::Bid, Some(PositionSide::Short))
            | (crate::OrderSide::Ask, Some(PositionSide::Long)) => self.size.abs(),
            _ => BaseLots(0),
        }
    }

    /// Whether `after` holds no more exposure than `self` on the same side: its size shrank
    /// toward zero or stayed, and did not flip.
    pub fn exposure_reduced_by(&self, after: &PositionState) -> bool {
        after.size.is_zero()
            || (after.size.0.signum() == self.size.0.signum()
                && after.size.abs() <= self.size.abs())
    }

    /// Whether a risk-reducing trade that leaves this position as `after`, below initial margin,
    /// is acceptable at `price` (initial rates scaled by `initial_factor`): it keeps maintenance
    /// (`trade_keeps_maintenance`) and its shortfall under initial margin (`IM − E`, resting
    /// orders at their worst case) did not grow. A reduction at the oracle frees more margin than
    /// its fee costs; one sold far below the oracle (into a sibling's bid) gives margin away.
    pub fn reduction_keeps_margin(
        &self,
        after: &PositionState,
        price: Price,
        tiers: &MarginTiers,
        initial_factor: RatePpm,
    ) -> EngineResult<bool> {
        if !self.trade_keeps_maintenance(after, price, tiers)? {
            return Ok(false);
        }
        let shortfall = |state: &PositionState| -> EngineResult<SignedQuote> {
            let health = state.health(price, tiers, initial_factor)?;
            health.initial.checked_sub(health.equity)
        };
        Ok(shortfall(after)? <= shortfall(self)?)
    }

    /// DESIGN.md §12.4 for a trade of this position that leaves it as `after`, judged at
    /// `price`: it ends above maintenance margin; or it only reduced the exposure of a position
    /// that was already below, and its shortfall below maintenance (`MM − E`) did not grow. So no
    /// trade, at any price inside the band, can push a position into liquidation (or deeper).
    pub fn trade_keeps_maintenance(
        &self,
        after: &PositionState,
        price: Price,
        tiers: &MarginTiers,
    ) -> EngineResult<bool> {
        let after_health = after.health(price, tiers, RatePpm::ONE)?;
        if !after_health.is_liquidatable() {
            return Ok(true);
        }
        if !self.exposure_reduced_by(after) {
            return Ok(false);
        }
        let before_health = self.health(price, tiers, RatePpm::ONE)?;
        let shortfall = |h: &MarginHealth| h.maintenance.checked_sub(h.equity);
        Ok(shortfall(&after_health)? <= shortfall(&before_health)?)
    }

    /// Whether `after` carries no more risk than `self`: its exposure shrank without flipping and
    /// its worst case with resting orders did not grow. Such a change is allowed even below
    /// initial margin.
    pub fn is_risk_reduced_by(&self, after: &PositionState) -> EngineResult<bool> {
        Ok(
            self.exposure_reduced_by(after)
                && after.worst_case_lots()? <= self.worst_case_lots()?,
        )
    }

    /// The price at which equity is zero, rounded against the position: up for a long, down for
    /// a short, so that equity there is zero or positive dust of less than one atom per lot.
    /// A long that cannot go bankrupt at any positive price has bankruptcy price 0. A short whose
    /// equity is negative at every price (`C < −|Q|`) has none: `NoBankruptcyPrice` (ADL uses
    /// `signed_bankruptcy_price`).
    pub fn bankruptcy_price(&self) -> EngineResult<Price> {
        let price = self.signed_bankruptcy_price()?.0;
        if price < 0 {
            return Err(EngineError::NoBankruptcyPrice);
        }
        u64::try_from(price)
            .map(Price)
            .map_err(|_| EngineError::MathOverflow)
    }

    /// `bankruptcy_price`, negative for a short that has lost more than its collateral and all
    /// it sold for: the price at which ADL still leaves it at zero equity (DESIGN.md §7).
    pub fn signed_bankruptcy_price(&self) -> EngineResult<SignedPrice> {
        let q = self.size.0 as i128;
        // E(P) = C + q·P − Q = 0  ⇔  P = (Q − C) / q
        let numerator = self.cost_basis.checked_sub(self.collateral)?.0;
        Ok(SignedPrice(
            match self.side().ok_or(EngineError::FlatPosition)? {
                PositionSide::Long => math::div_ceil(numerator, q)?.max(0),
                PositionSide::Short => math::div_floor(numerator, q)?,
            },
        ))
    }

    /// The price at the edge of liquidation, rounded against the position:
    /// for a long, the highest price at which it is liquidatable (every higher price is safe);
    /// for a short, the lowest (every lower price is safe). `None` when no such price exists.
    ///
    /// Worked per tier in closed form: within tier `i` of rate `m`, `E < MM` is
    /// `q·P·(1 − m) < Q − C` for a long and `|q|·P·(1 + m) > C − Q` for a short.
    pub fn liquidation_price(&self, tiers: &MarginTiers) -> EngineResult<Option<Price>> {
        let side = self.side().ok_or(EngineError::FlatPosition)?;
        let lots = self.size.0.unsigned_abs() as i128;
        let ppm = PPM as i128;
        let tier_list = tiers.as_slice();
        let mut edge: Option<i128> = None;
        for (i, tier) in tier_list.iter().enumerate() {
            // Integer prices whose notional falls in this tier: [low, high].
            let low = if i == 0 {
                0
            } else {
                math::add(math::div_trunc(tiers.lower_bound(i) as i128, lots)?, 1)?
            };
            let high = if i + 1 == tier_list.len() {
                u64::MAX as i128
            } else {
                math::div_trunc(tier.max_notional as i128, lots)?
            };
            if low > high {
                continue;
            }
            let m = tier.maintenance_rate.0 as i128;
            match side {
                PositionSide::Long => {
                    // P < PPM·(Q − C) / (q·(PPM − m)): the largest such integer is ceil(..) − 1.
                    let numerator =
                        math::mul(ppm, self.cost_basis.checked_sub(self.collateral)?.0)?;
                    if numerator <= 0 {
                        continue;
                    }
                    let below = math::div_ceil(numerator, math::mul(lots, ppm - m)?)? - 1;
                    let top = below.min(high);
                    if top >= low {
                        edge = Some(edge.map_or(top, |e| e.max(top)));
                    }
                }
                PositionSide::Short => {
                    // P > PPM·(C − Q) / (|q|·(PPM + m)): the smallest such integer is floor(..) + 1.
                    let numerator =
                        math::mul(ppm, self.collateral.checked_sub(self.cost_basis)?.0)?;
                    let above =
                        math::add(math::div_floor(numerator, math::mul(lots, ppm + m)?)?, 1)?;
                    let bottom = above.max(low);
                    if bottom <= high {
                        edge = Some(edge.map_or(bottom, |e| e.min(bottom)));
                    }
                }
            }
        }
        edge.map(|p| {
            u64::try_from(p)
                .map(Price)
                .map_err(|_| EngineError::MathOverflow)
        })
        .transpose()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::margin::tests::sample_tiers;
    use proptest::prelude::*;

    /// 1 BTC long as 1000 lots of 0.001 BTC bought at 60,000 USDC (60 USDC = 60e6 atoms per lot)
    /// with 6,000 USDC of collateral: 10x.
    pub(crate) fn btc_long() -> PositionState {
        PositionState {
            collateral: SignedQuote(6_000_000_000),
            size: SignedLots(1_000),
            cost_basis: SignedQuote(60_000_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn worked_long_at_entry_and_after_a_fall() {
        let p = btc_long();
        let t = sample_tiers();
        let at_entry = p.health(Price(60_000_000), &t, RatePpm::ONE).unwrap();
        assert_eq!(at_entry.equity, SignedQuote(6_000_000_000));
        // 60k notional is in the 1%/2% bracket: MM 600, IM 1,200 USDC.
        assert_eq!(at_entry.maintenance, SignedQuote(600_000_000));
        assert_eq!(at_entry.initial, SignedQuote(1_200_000_000));
        // BTC at 55,000: U = −5,000, E = 1,000; MM = 1% of 55k = 550.
        let after = p.health(Price(55_000_000), &t, RatePpm::ONE).unwrap();
        assert_eq!(
            p.unrealized_pnl(Price(55_000_000)),
            Ok(SignedQuote(-5_000_000_000))
        );
        assert_eq!(after.equity, SignedQuote(1_000_000_000));
        assert_eq!(after.maintenance, SignedQuote(550_000_000));
        assert!(!after.is_liquidatable());
        assert!(!after.meets_initial());
    }

    #[test]
    fn worked_bankruptcy_prices_round_against_the_position() {
        // Long: P = (60,000e6 − 6,000e6) / 1000 = 54e6 exactly.
        assert_eq!(btc_long().bankruptcy_price(), Ok(Price(54_000_000)));
        // Long with one more atom of collateral: 53,999,999.999 rounds up to 54,000,000.
        let mut richer = btc_long();
        richer.collateral = SignedQuote(6_000_000_001);
        assert_eq!(richer.bankruptcy_price(), Ok(Price(54_000_000)));
        assert_eq!(richer.equity(Price(54_000_000)), Ok(SignedQuote(1)));
        // Short 3 lots sold at 100 each (Q = −300) with 10 collateral: P = 310 / 3 = 103.33 → 103.
        let short = PositionState {
            collateral: SignedQuote(10),
            size: SignedLots(-3),
            cost_basis: SignedQuote(-300),
            ..Default::default()
        };
        assert_eq!(short.bankruptcy_price(), Ok(Price(103)));
        assert_eq!(short.equity(Price(103)), Ok(SignedQuote(1)));
        assert_eq!(short.equity(Price(104)), Ok(SignedQuote(-2)));
        // The same short after paying 320 of funding: C = −310 < −|Q|, negative equity at every
        // price. Its bankruptcy price is −10 / 3 = −3.33, rounded down to −4: buying its 3 lots
        // back there (receiving 4 a lot) leaves it 2 atoms of equity.
        let mut drained = short;
        drained.collateral = SignedQuote(-310);
        assert_eq!(
            drained.bankruptcy_price(),
            Err(EngineError::NoBankruptcyPrice)
        );
        assert_eq!(drained.signed_bankruptcy_price(), Ok(SignedPrice(-4)));
        let mut closed = drained;
        closed.apply_fill(SignedLots(3), SignedPrice(-4)).unwrap();
        assert_eq!(
            (closed.size, closed.collateral),
            (SignedLots(0), SignedQuote(2))
        );
        // A fully collateralised long cannot go bankrupt above zero.
        let unlevered = PositionState {
            collateral: SignedQuote(500),
            size: SignedLots(5),
            cost_basis: SignedQuote(500),
            ..Default::default()
        };
        assert_eq!(unlevered.bankruptcy_price(), Ok(Price(0)));
        assert_eq!(
            PositionState::default().bankruptcy_price(),
            Err(EngineError::FlatPosition)
        );
    }

    #[test]
    fn worked_liquidation_prices() {
        let t = sample_tiers();
        // Long 10x at 60k: in the 1% bracket, liquidatable while P·1000·0.99 < 54,000e6,
        // i.e. P < 54,545,454.54…: the highest such integer is 54,545,454.
        let long = btc_long();
        assert_eq!(long.liquidation_price(&t), Ok(Some(Price(54_545_454))));
        let at = long.health(Price(54_545_454), &t, RatePpm::ONE).unwrap();
        let above = long.health(Price(54_545_455), &t, RatePpm::ONE).unwrap();
        assert!(at.is_liquidatable() && !above.is_liquidatable());
        // Short 1 BTC at 60k with 6k: liquidatable while P·1000·1.01 > 66,000e6,
        // i.e. P > 65,346,534.65…: the lowest such integer is 65,346,535.
        let short = PositionState {
            collateral: SignedQuote(6_000_000_000),
            size: SignedLots(-1_000),
            cost_basis: SignedQuote(-60_000_000_000),
            ..Default::default()
        };
        assert_eq!(short.liquidation_price(&t), Ok(Some(Price(65_346_535))));
        // A long that cannot be liquidated at any price has none.
        let unlevered = PositionState {
            collateral: SignedQuote(1_000),
            size: SignedLots(1),
            cost_basis: SignedQuote(100),
            ..Default::default()
        };
        assert_eq!(unlevered.liquidation_price(&t), Ok(None));
    }

    #[test]
    fn withdrawal_keeps_initial_margin_and_idle_positions_take_everything() {
        let t = sample_tiers();
        // At 60k: E = 6,000, IM = 1,200, so 4,800 USDC may leave.
        assert_eq!(
            btc_long().max_withdrawal(Price(60_000_000), &t, RatePpm::ONE, false),
            Ok(QuoteAtoms(4_800_000_000))
        );
        // Unrealized profit counts toward equity but only collateral can leave.
        assert_eq!(
            btc_long().max_withdrawal(Price(90_000_000), &t, RatePpm::ONE, false),
            Ok(QuoteAtoms(6_000_000_000))
        );
        // In ADL the 3,000 USDC of unrealized profit at 63k does not count: 6,000 − IM 1,260.
        assert_eq!(
            btc_long().max_withdrawal(Price(63_000_000), &t, RatePpm::ONE, true),
            Ok(QuoteAtoms(4_740_000_000))
        );
        // Under water: nothing.
        assert_eq!(
            btc_long().max_withdrawal(Price(50_000_000), &t, RatePpm::ONE, false),
            Ok(QuoteAtoms(0))
        );
        let idle = PositionState {
            collateral: SignedQuote(77),
            ..Default::default()
        };
        assert_eq!(
            idle.max_withdrawal(Price(0), &t, RatePpm::ONE, false),
            Ok(QuoteAtoms(77))
        );
    }

    #[test]
    fn resting_orders_count_at_their_worst_case() {
        let p = PositionState {
            size: SignedLots(10),
            open_bids: BaseLots(5),
            open_asks: BaseLots(30),
            ..Default::default()
        };
        // max(|10 + 5|, |10 − 30|) = 20
        assert_eq!(p.worst_case_lots(), Ok(BaseLots(20)));
    }

    #[test]
    fn worked_fills_open_reduce_and_flip() {
        let mut p = PositionState {
            collateral: SignedQuote(1_000),
            ..Default::default()
        };
        // Buy 3 at 100, then 1 at 104: Q = 404 for 4 lots.
        assert_eq!(p.apply_fill(SignedLots(3), Price(100)), Ok(SignedQuote(0)));
        assert_eq!(p.apply_fill(SignedLots(1), Price(104)), Ok(SignedQuote(0)));
        assert_eq!((p.size, p.cost_basis), (SignedLots(4), SignedQuote(404)));
        // Sell 1 at 110: the lot's basis is 404/4 = 101, realized 9.
        assert_eq!(p.apply_fill(SignedLots(-1), Price(110)), Ok(SignedQuote(9)));
        assert_eq!(
            (p.size, p.cost_basis, p.collateral),
            (SignedLots(3), SignedQuote(303), SignedQuote(1_009))
        );
        // Sell 2 at 90: basis 303·2/3 = 202, realized 180 − 202 = −22.
        assert_eq!(
            p.apply_fill(SignedLots(-2), Price(90)),
            Ok(SignedQuote(-22))
        );
        // Sell 3 at 95: closes the last lot (basis 101, realized −6) and opens 2 short at 95.
        assert_eq!(p.apply_fill(SignedLots(-3), Price(95)), Ok(SignedQuote(-6)));
        assert_eq!(
            (p.size, p.cost_basis, p.collateral),
            (SignedLots(-2), SignedQuote(-190), SignedQuote(981))
        );
        // Buy 2 back at 80: the short gains 30.
        assert_eq!(p.apply_fill(SignedLots(2), Price(80)), Ok(SignedQuote(30)));
        assert_eq!(
            (p.size, p.cost_basis, p.collateral),
            (SignedLots(0), SignedQuote(0), SignedQuote(1_011))
        );
    }

    #[test]
    fn a_partial_close_rounds_the_realized_pnl_against_the_position() {
        // Long 3 lots for 100: each lot's basis is 33.33…; closing 1 takes 34 of basis.
        let mut long = PositionState {
            size: SignedLots(3),
            cost_basis: SignedQuote(100),
            ..Default::default()
        };
        assert_eq!(
            long.apply_fill(SignedLots(-1), Price(40)),
            Ok(SignedQuote(6))
        );
        assert_eq!(long.cost_basis, SignedQuote(66));
        // Short 3 lots for 100: closing 1 takes −33 of basis (toward +∞), so the short gains less.
        let mut short = PositionState {
            size: SignedLots(-3),
            cost_basis: SignedQuote(-100),
            ..Default::default()
        };
        assert_eq!(
            short.apply_fill(SignedLots(1), Price(30)),
            Ok(SignedQuote(3))
        );
        assert_eq!(short.cost_basis, SignedQuote(-67));
    }

    #[test]
    fn reduce_only_and_risk_reduction_are_judged_on_size_and_worst_case() {
        let long = PositionState {
            size: SignedLots(10),
            ..Default::default()
        };
        assert_eq!(long.reducible_lots(crate::OrderSide::Ask), BaseLots(10));
        assert_eq!(long.reducible_lots(crate::OrderSide::Bid), BaseLots(0));
        assert_eq!(
            PositionState::default().reducible_lots(crate::OrderSide::Ask),
            BaseLots(0)
        );
        let smaller = PositionState {
            size: SignedLots(4),
            ..long
        };
        let with_bids = PositionState {
            open_bids: BaseLots(7),
            ..smaller
        };
        assert_eq!(long.is_risk_reduced_by(&smaller), Ok(true));
        assert_eq!(long.is_risk_reduced_by(&with_bids), Ok(false)); // worst case 11 > 10
        assert_eq!(smaller.is_risk_reduced_by(&long), Ok(false));
        // A flip to the same size on the other side is new risk, not a reduction.
        let flipped = PositionState {
            size: SignedLots(-10),
            ..long
        };
        assert_eq!(long.is_risk_reduced_by(&flipped), Ok(false));
        assert!(long.exposure_reduced_by(&PositionState::default()));
        assert_eq!(open_interest_change(SignedLots(5), SignedLots(-3)), (-5, 3));
        assert_eq!(
            open_interest_change(SignedLots(-3), SignedLots(-1)),
            (0, -2)
        );
    }

    fn position_strategy() -> impl Strategy<Value = PositionState> {
        (
            0i64..1_000_000_000_000,
            prop_oneof![-1_000_000i64..-1, 1i64..1_000_000],
            1u64..1_000_000_000,
        )
            .prop_map(|(collateral, size, entry)| PositionState {
                collateral: SignedQuote(collateral as i128),
                size: SignedLots(size),
                cost_basis: SignedQuote(size as i128 * entry as i128),
                ..Default::default()
            })
    }

    proptest! {
        #[test]
        fn equity_at_the_bankruptcy_price_is_zero_or_less_than_one_atom_per_lot(p in position_strategy()) {
            let pb = p.bankruptcy_price().unwrap();
            let e = p.equity(pb).unwrap().0;
            let lots = p.size.0.unsigned_abs() as i128;
            if pb.0 > 0 || p.side() == Some(PositionSide::Short) {
                prop_assert!(e >= 0 && e < lots, "equity {} at {:?}", e, pb);
            } else {
                prop_assert!(e >= 0);
            }
            // One tick further against the position, equity is negative: the price is the edge.
            let worse = match p.side().unwrap() {
                PositionSide::Long if pb.0 > 0 => Some(Price(pb.0 - 1)),
                PositionSide::Long => None,
                PositionSide::Short => Some(Price(pb.0 + 1)),
            };
            if let Some(worse) = worse {
                prop_assert!(p.equity(worse).unwrap().0 < 0);
            }
        }

        #[test]
        fn fills_conserve_equity_at_the_fill_price_and_a_full_close_realizes_everything(
            p in position_strategy(),
            delta in -2_000_000i64..2_000_000,
            price in 1u64..2_000_000_000,
        ) {
            let mut after = p;
            after.apply_fill(SignedLots(delta), Price(price)).unwrap();
            // Trading at the marked price moves no value: the rounding of the closed basis only
            // shifts value between realized and unrealized PnL, so equity there is unchanged.
            prop_assert_eq!(after.equity(Price(price)).unwrap(), p.equity(Price(price)).unwrap());
            let mut closed = p;
            let realized = closed.apply_fill(SignedLots(-p.size.0), Price(price)).unwrap();
            prop_assert_eq!(realized, p.unrealized_pnl(Price(price)).unwrap());
            prop_assert_eq!((closed.size, closed.cost_basis), (SignedLots(0), SignedQuote(0)));
        }

        #[test]
        fn margin_requirements_never_round_in_favour_of_the_position(
            notional in 0i128..1_000_000_000_000_000,
        ) {
            let t = sample_tiers();
            let tier = t.tier_for(SignedQuote(notional));
            let mm = t.maintenance_margin(SignedQuote(notional)).unwrap().0;
            let im = t.initial_margin(SignedQuote(notional)).unwrap().0;
            let exact_mm = notional * tier.maintenance_rate.0 as i128;
            let exact_im = notional * tier.initial_rate.0 as i128;
            prop_assert!(mm * PPM as i128 >= exact_mm && (mm - 1) * (PPM as i128) < exact_mm);
            prop_assert!(im * PPM as i128 >= exact_im && (im - 1) * (PPM as i128) < exact_im);
        }

        #[test]
        fn the_liquidation_price_is_the_exact_edge_of_the_liquidatable_region(
            p in position_strategy(),
            probe in 1u64..2_000_000_000,
        ) {
            let t = sample_tiers();
            let liquidatable = |price: u64| p.health(Price(price), &t, RatePpm::ONE).unwrap().is_liquidatable();
            match (p.side().unwrap(), p.liquidation_price(&t).unwrap()) {
                (PositionSide::Long, Some(Price(edge))) => {
                    prop_assert!(liquidatable(edge));
                    prop_assert!(!liquidatable(edge + 1));
                    if probe > edge { prop_assert!(!liquidatable(probe)); }
                }
                (PositionSide::Long, None) => prop_assert!(!liquidatable(probe) && !liquidatable(0)),
                (PositionSide::Short, Some(Price(edge))) => {
                    prop_assert!(liquidatable(edge));
                    if edge > 0 { prop_assert!(!liquidatable(edge - 1)); }
                    if probe < edge { prop_assert!(!liquidatable(probe)); }
                }
                (PositionSide::Short, None) => prop_assert!(false, "a short is always liquidatable at some price"),
            }
        }

        #[test]
        fn after_the_largest_withdrawal_initial_margin_still_holds(
            p in position_strategy(),
            price in 1u64..2_000_000_000,
        ) {
            let t = sample_tiers();
            let w = p.max_withdrawal(Price(price), &t, RatePpm::ONE, false).unwrap().0 as i128;
            prop_assert!(w <= p.collateral.0);
            if w > 0 {
                let after = PositionState { collateral: SignedQuote(p.collateral.0 - w), ..p };
                prop_assert!(after.health(Price(price), &t, RatePpm::ONE).unwrap().meets_initial());
                if w < p.collateral.0 {
                    // One atom more would break it: the figure is the exact maximum.
                    let more = PositionState { collateral: SignedQuote(p.collateral.0 - w - 1), ..p };
                    prop_assert!(!more.health(Price(price), &t, RatePpm::ONE).unwrap().meets_initial());
                }
            }
        }
    }

    #[test]
    fn worked_trades_that_keep_or_break_maintenance() {
        let t = sample_tiers();
        let p60 = Price(60_000_000);
        // 100 lots long from 60 with `collateral` USDC, after selling `lots` at `price`.
        let long = |collateral: i128| PositionState {
            collateral: SignedQuote(collateral * 1_000_000),
            size: SignedLots(100),
            cost_basis: SignedQuote(6_000_000_000),
            ..Default::default()
        };
        let sold = |before: &PositionState, lots: i64, price: u64| {
            let mut after = *before;
            after.apply_fill(SignedLots(-lots), Price(price)).unwrap();
            after
        };
        let healthy = long(60); // equity 60, MM 30
                                // Selling 20 at the oracle leaves equity 60 over MM 24.
        assert!(healthy
            .trade_keeps_maintenance(&sold(&healthy, 20, 60_000_000), p60, &t)
            .unwrap());
        // Selling 20 at 57.30 (a sibling's bid near the band edge) leaves equity 6 under MM 24:
        // the self-liquidation set-up is refused.
        assert!(!healthy
            .trade_keeps_maintenance(&sold(&healthy, 20, 57_300_000), p60, &t)
            .unwrap());
        // Already under (equity 25, MM 30: short by 5), a reduction may not deepen the shortfall.
        let under = long(25);
        let keeps = |price| under.trade_keeps_maintenance(&sold(&under, 50, price), p60, &t);
        assert!(keeps(59_990_000).unwrap()); // equity 24.50 over MM 15
        assert!(keeps(59_700_000).unwrap()); // equity 10, MM 15: short by 5, as before
        assert!(!keeps(59_600_000).unwrap()); // equity 5, MM 15: short by 10
                                              // Adding to a position under maintenance never keeps it.
        let mut bought = under;
        bought.apply_fill(SignedLots(1), p60).unwrap();
        assert!(!under.trade_keeps_maintenance(&bought, p60, &t).unwrap());
    }

    #[test]
    fn worked_reductions_that_keep_or_give_away_margin() {
        let t = sample_tiers();
        let p60 = Price(60_000_000);
        // 100 lots long from 60 with 60 USDC: exactly initial margin (1% of 6,000).
        let long = PositionState {
            collateral: SignedQuote(60_000_000),
            size: SignedLots(100),
            cost_basis: SignedQuote(6_000_000_000),
            ..Default::default()
        };
        let sold = |lots: i64, price: u64| {
            let mut after = long;
            after.apply_fill(SignedLots(-lots), Price(price)).unwrap();
            after
        };
        let keeps = |after: &PositionState| {
            long.reduction_keeps_margin(after, p60, &t, RatePpm::ONE)
                .unwrap()
        };
        // Selling 10 at the oracle frees 6 of initial margin and costs nothing.
        assert!(keeps(&sold(10, 60_000_000)));
        // Selling 10 at 59.40 costs exactly the 6 it frees: the shortfall stays at 0.
        assert!(keeps(&sold(10, 59_400_000)));
        // Selling 10 at 57 (a sibling's bid at the band edge) gives 30 away for 6 freed: equity
        // 30, above maintenance 27, but 24 under initial margin. Refused.
        assert!(!keeps(&sold(10, 57_000_000)));
    }
}
