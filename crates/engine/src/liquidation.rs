//! Liquidation sizing (DESIGN.md §7): how many lots a liquidator takes over, at what price, what
//! the insurance vault receives, and whether the position ends bankrupt.
//!
//! The liquidator takes `Δ` lots at `Pl = P·(1 − f)` from a long (`P·(1 + f)` from a short),
//! rounded against the liquidated position, and the insurance vault receives `f_ins · Δ · P`
//! (rounded up, capped so that it never creates a deficit). `Δ` is the smallest lot count after
//! which equity at `P` is at least `MM · (1 + buffer)`, with the maintenance rate of the tier of
//! the notional that remains; the whole position when what would remain is below the minimum
//! notional or no partial size restores margin.

use crate::{
    math, BaseLots, EngineError, EngineResult, MarginTiers, PositionSide, PositionState, Price,
    RatePpm, SignedLots, SignedQuote, PPM,
};

/// A market's liquidation parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationParams {
    /// Price improvement for the liquidator.
    pub liquidation_fee: RatePpm,
    /// Share of the liquidated notional paid to the insurance vault.
    pub insurance_fee: RatePpm,
    /// Partial liquidation restores equity to maintenance · (1 + buffer).
    pub buffer: RatePpm,
    /// A remainder below this notional is closed too.
    pub min_position_notional: u64,
}

/// What a liquidation does to the liquidated position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationPlan {
    /// Lots the liquidator takes over.
    pub lots: BaseLots,
    /// Price per lot of the transfer.
    pub price: Price,
    /// Paid from the position's collateral to the insurance vault.
    pub insurance_fee: SignedQuote,
    /// The whole position is transferred.
    pub full: bool,
    /// What the position's collateral lacks after the transfer (0 unless bankrupt).
    pub deficit: SignedQuote,
}

/// The transfer price: `P·(1 − f)` rounded down for a long, `P·(1 + f)` rounded up for a short.
pub fn liquidation_transfer_price(
    side: PositionSide,
    oracle: Price,
    fee: RatePpm,
) -> EngineResult<Price> {
    let p = oracle.0 as i128;
    let f = fee.0 as i128;
    let ppm = PPM as i128;
    let price = match side {
        PositionSide::Long => math::div_floor(math::mul(p, ppm - f)?, ppm)?,
        PositionSide::Short => math::div_ceil(math::mul(p, ppm + f)?, ppm)?,
    };
    u64::try_from(price)
        .map(Price)
        .map_err(|_| EngineError::MathOverflow)
}

/// The position after `lots` are transferred at `price` with the insurance fee charged
/// (uncapped), and that fee. Funding must already be settled into `state`.
fn after_transfer(
    state: &PositionState,
    lots: u64,
    price: Price,
    oracle: Price,
    params: &LiquidationParams,
) -> EngineResult<(PositionState, SignedQuote)> {
    let side = state.side().ok_or(EngineError::FlatPosition)?;
    let mut after = PositionState {
        open_bids: BaseLots(0),
        open_asks: BaseLots(0),
        ..*state
    };
    let delta = match side {
        PositionSide::Long => -(lots as i64),
        PositionSide::Short => lots as i64,
    };
    after.apply_fill(SignedLots(delta), price)?;
    let fee = oracle
        .value_of(BaseLots(lots))?
        .mul_rate_ceil(params.insurance_fee)?;
    Ok((after, fee))
}

/// Whether the remainder after transferring `lots` is restored: its equity at the oracle covers
/// `MM · (1 + buffer)` at the rate of its own tier.
fn restores(
    state: &PositionState,
    lots: u64,
    price: Price,
    oracle: Price,
    tiers: &MarginTiers,
    params: &LiquidationParams,
) -> EngineResult<bool> {
    let (mut after, fee) = after_transfer(state, lots, price, oracle, params)?;
    after.collateral = after.collateral.checked_sub(fee)?;
    let target = tiers
        .maintenance_margin(after.notional(oracle)?)?
        .mul_rate_ceil(RatePpm(PPM.saturating_add(params.buffer.0)))?;
    Ok(after.equity(oracle)? >= target)
}

/// Plans the liquidation of `state` (funding settled, resting orders about to be cancelled) at
/// `oracle`. Refuses a position that is not liquidatable with `NotLiquidatable`.
pub fn plan_liquidation(
    state: &PositionState,
    oracle: Price,
    tiers: &MarginTiers,
    params: &LiquidationParams,
) -> EngineResult<LiquidationPlan> {
    let side = state.side().ok_or(EngineError::FlatPosition)?;
    let without_orders = PositionState {
        open_bids: BaseLots(0),
        open_asks: BaseLots(0),
        ..*state
    };
    if !without_orders
        .health(oracle, tiers, RatePpm::ONE)?
        .is_liquidatable()
    {
        return Err(EngineError::NotLiquidatable);
    }
    let price = liquidation_transfer_price(side, oracle, params.liquidation_fee)?;
    let size = state.size.0.unsigned_abs();
    // Restoration is monotone in the lots taken (each lot frees more margin than its fees cost,
    // which the market's parameters guarantee), so the smallest partial size is found by bisection
    // over 1..size−1; reaching `size` means no partial size works. The smallest size leaves the
    // largest remainder: if even that is below the minimum notional, the whole position goes.
    let (mut low, mut high) = (1u64, size);
    while low < high {
        let mid = low + (high - low) / 2;
        if restores(state, mid, price, oracle, tiers, params)? {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let remainder = oracle.value_of(BaseLots(size - low))?;
    let lots = if remainder.0 < params.min_position_notional as i128 {
        size
    } else {
        low
    };
    let full = lots == size;
    let price = if full {
        full_close_price(state, side, oracle, price)?
    } else {
        price
    };
    let (after, fee) = after_transfer(state, lots, price, oracle, params)?;
    // A partial liquidation leaves the remainder above maintenance with the fee paid, so its
    // collateral, even when negative, is backed by unrealized profit: it never draws on the
    // vault. On a full close collateral is all the equity left: the fee never creates a
    // deficit, and a deficit left anyway is the bankruptcy.
    let insurance_fee = if full {
        fee.min(after.collateral.max(SignedQuote::ZERO))
    } else {
        fee
    };
    let deficit = if full {
        SignedQuote(-after.collateral.0.min(0))
    } else {
        SignedQuote::ZERO
    };
    Ok(LiquidationPlan {
        lots: BaseLots(lots),
        price,
        insurance_fee,
        full,
        deficit,
    })
}

/// The full close's transfer price (DESIGN.md §7): the discounted price when the position's
/// equity pays the whole discount; otherwise the bankruptcy price, which leaves it at zero
/// equity; and the oracle once it is bankrupt there. So the price never lies beyond the
/// bankruptcy price on the liquidator's side, and the vault pays only negative equity at the
/// oracle, never a liquidator's discount. A short with no bankruptcy price (negative equity at
/// every price) closes at the oracle.
fn full_close_price(
    state: &PositionState,
    side: PositionSide,
    oracle: Price,
    discounted: Price,
) -> EngineResult<Price> {
    let bankruptcy = match state.bankruptcy_price() {
        Ok(price) => Some(price),
        Err(EngineError::NoBankruptcyPrice) => None,
        Err(e) => return Err(e),
    };
    Ok(match (side, bankruptcy) {
        (PositionSide::Long, Some(bankruptcy)) => discounted.max(bankruptcy.min(oracle)),
        (PositionSide::Short, Some(bankruptcy)) => discounted.min(bankruptcy.max(oracle)),
        (PositionSide::Long, None) => oracle,
        (PositionSide::Short, None) => discounted.min(oracle),
    })
}

/// What the loss waterfall does with a liquidation plan (DESIGN.md §7): one decision for the
/// program, which carries it out, and the keeper, which predicts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waterfall {
    /// The liquidator takes the plan's lots over; the insurance vault pays the plan's whole
    /// deficit (zero unless the position is bankrupt).
    TakeOver { paid_by_insurance: u64 },
    /// The deficit is more than the vault holds above its floor: the position is not taken over
    /// but waits for ADL, and the vault pays all it holds into it.
    QueueForAdl { paid_by_insurance: u64 },
}

impl Waterfall {
    pub fn paid_by_insurance(&self) -> u64 {
        match *self {
            Self::TakeOver { paid_by_insurance } | Self::QueueForAdl { paid_by_insurance } => {
                paid_by_insurance
            }
        }
    }
}

/// Decides the waterfall for `plan`, with `insurance_available` atoms in the vault above its
/// floor. The plan's deficit is the negative equity of a full close at the oracle (a solvent
/// position closes at no worse than zero equity), so the vault never pays more than a real loss.
pub fn waterfall(plan: &LiquidationPlan, insurance_available: u64) -> EngineResult<Waterfall> {
    let deficit = u64::try_from(plan.deficit.0).map_err(|_| EngineError::MathOverflow)?;
    Ok(if deficit <= insurance_available {
        Waterfall::TakeOver {
            paid_by_insurance: deficit,
        }
    } else {
        Waterfall::QueueForAdl {
            paid_by_insurance: insurance_available,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::margin::tests::sample_tiers;
    use proptest::prelude::*;

    const PARAMS: LiquidationParams = LiquidationParams {
        liquidation_fee: RatePpm(2_000),   // 0.2%
        insurance_fee: RatePpm(1_000),     // 0.1%
        buffer: RatePpm(100_000),          // 10%
        min_position_notional: 10_000_000, // 10 USDC
    };

    // `btc_long`: 1,000 lots (1 BTC) long from 60,000 with 6,000 USDC, liquidatable below
    // 54,545.45.
    use crate::position::tests::btc_long;

    #[test]
    fn a_healthy_position_is_not_liquidatable() {
        assert_eq!(
            plan_liquidation(&btc_long(), Price(55_000_000), &sample_tiers(), &PARAMS),
            Err(EngineError::NotLiquidatable)
        );
    }

    #[test]
    fn worked_partial_liquidation_of_a_long() {
        // At 54,500 (54.5 USDC per lot): U = −5,500, equity 500, MM 1% of 54,500 = 545.
        let t = sample_tiers();
        let plan = plan_liquidation(&btc_long(), Price(54_500_000), &t, &PARAMS).unwrap();
        // Transfer at 54.5 · 0.998 = 54.391 USDC per lot.
        assert_eq!(plan.price, Price(54_391_000));
        // Each lot taken costs 0.109 of price improvement and 0.0545 of insurance fee, and frees
        // 54.5 · 1% · 1.1 = 0.5995 of the target: 500 − 0.1635·Δ ≥ 0.5995·(1,000 − Δ) needs
        // Δ ≥ 228.2, so 229 lots.
        assert_eq!(plan.lots, BaseLots(229));
        assert_eq!(plan.insurance_fee, SignedQuote(12_480_500));
        assert!(!plan.full);
        assert_eq!(plan.deficit, SignedQuote(0));
        // 228 would not do: the remainder's equity 462.722 < 0.5995 · 772 = 462.814.
        assert!(!restores(&btc_long(), 228, plan.price, Price(54_500_000), &t, &PARAMS).unwrap());
    }

    #[test]
    fn a_small_remainder_is_closed_in_full() {
        // 15 lots long at 10 USDC per lot with 10 USDC: at 9.34 equity is 0.10 < MM 0.70. With a
        // 200 USDC minimum notional any remainder is too small, so the whole position goes.
        let p = PositionState {
            collateral: SignedQuote(10_000_000),
            size: SignedLots(15),
            cost_basis: SignedQuote(150_000_000),
            ..Default::default()
        };
        let params = LiquidationParams {
            min_position_notional: 200_000_000,
            ..PARAMS
        };
        let plan = plan_liquidation(&p, Price(9_340_000), &sample_tiers(), &params).unwrap();
        assert!(plan.full);
        assert_eq!(plan.lots, BaseLots(15));
    }

    #[test]
    fn worked_bankrupt_short() {
        // 100 lots short from 60 with 100 USDC; at 62 the short has lost 200: equity −100.
        let p = PositionState {
            collateral: SignedQuote(100_000_000),
            size: SignedLots(-100),
            cost_basis: SignedQuote(-6_000_000_000),
            ..Default::default()
        };
        let plan = plan_liquidation(&p, Price(62_000_000), &sample_tiers(), &PARAMS).unwrap();
        // No partial size helps a negative equity. Bankrupt at the oracle, it is bought back at
        // the oracle, not at 62 · 1.002: the vault pays its negative equity, 100 USDC, and not
        // the liquidator's 12.4 of discount besides.
        assert_eq!(plan.price, Price(62_000_000));
        assert!(plan.full);
        assert_eq!(plan.deficit, SignedQuote(100_000_000));
        assert_eq!(plan.insurance_fee, SignedQuote(0));
    }

    #[test]
    fn a_position_solvent_at_the_oracle_that_cannot_pay_the_discount_closes_at_zero_equity() {
        // 1,000 lots long from 60 with 6,000 USDC, at 54.05: equity 50 USDC, under the full
        // discount of 1,000 · 0.1081 = 108.1. The transfer moves to the bankruptcy price, 54.
        let plan = plan_liquidation(&btc_long(), Price(54_050_000), &sample_tiers(), &PARAMS);
        let plan = plan.unwrap();
        assert!(plan.full);
        assert_eq!(plan.price, Price(54_000_000));
        assert_eq!(
            (plan.deficit, plan.insurance_fee),
            (SignedQuote(0), SignedQuote(0))
        );
        assert_eq!(
            waterfall(&plan, 0),
            Ok(Waterfall::TakeOver {
                paid_by_insurance: 0
            })
        );
    }

    fn liquidatable_strategy() -> impl Strategy<Value = (PositionState, Price)> {
        (
            prop_oneof![-100_000i64..-1, 1i64..100_000],
            1_000_000u64..100_000_000,
            1u32..60_000,  // leverage denominator: collateral = notional / (k/1000)
            0u32..150_000, // adverse move in ppm
        )
            .prop_map(|(size, entry, lev, moved)| {
                let cost = size as i128 * entry as i128;
                let collateral = cost.abs() * 1_000 / (lev as i128 * 100 + 1_000);
                let oracle = match size > 0 {
                    true => entry - entry * moved as u64 / 1_000_000,
                    false => entry + entry * moved as u64 / 1_000_000,
                };
                (
                    PositionState {
                        collateral: SignedQuote(collateral),
                        size: SignedLots(size),
                        cost_basis: SignedQuote(cost),
                        ..Default::default()
                    },
                    Price(oracle.max(1)),
                )
            })
    }

    proptest! {
        #[test]
        fn a_partial_liquidation_restores_the_target_with_the_fewest_lots(
            (p, oracle) in liquidatable_strategy()
        ) {
            let t = sample_tiers();
            let Ok(plan) = plan_liquidation(&p, oracle, &t, &PARAMS) else {
                prop_assert!(!p.health(oracle, &t, RatePpm::ONE).unwrap().is_liquidatable());
                return Ok(());
            };
            let size = p.size.0.unsigned_abs();
            if plan.full {
                prop_assert_eq!(plan.lots.0, size);
                // No partial size restores the target with a remainder of the minimum notional.
                for lots in 1..size.min(2_000) {
                    let remainder = oracle.0 as i128 * (size - lots) as i128;
                    prop_assert!(
                        remainder < PARAMS.min_position_notional as i128
                            || !restores(&p, lots, plan.price, oracle, &t, &PARAMS).unwrap()
                    );
                }
            } else {
                prop_assert!(restores(&p, plan.lots.0, plan.price, oracle, &t, &PARAMS).unwrap());
                if plan.lots.0 > 1 {
                    prop_assert!(!restores(&p, plan.lots.0 - 1, plan.price, oracle, &t, &PARAMS).unwrap());
                }
                prop_assert_eq!(plan.deficit, SignedQuote(0));
            }
        }

        #[test]
        fn a_liquidation_creates_no_value_beyond_the_liquidators_price_improvement(
            (p, oracle) in liquidatable_strategy()
        ) {
            let t = sample_tiers();
            let Ok(plan) = plan_liquidation(&p, oracle, &t, &PARAMS) else { return Ok(()); };
            let side = p.side().unwrap();
            let (mut after, _) = after_transfer(&p, plan.lots.0, plan.price, oracle, &PARAMS).unwrap();
            after.collateral = after.collateral.checked_sub(plan.insurance_fee).unwrap();
            // The liquidator's new lots, marked at the oracle, gain exactly the price improvement.
            let improvement = (oracle.0 as i128 - plan.price.0 as i128).abs() * plan.lots.0 as i128;
            let liquidator_gain = match side {
                PositionSide::Long => (oracle.0 as i128 - plan.price.0 as i128) * plan.lots.0 as i128,
                PositionSide::Short => (plan.price.0 as i128 - oracle.0 as i128) * plan.lots.0 as i128,
            };
            prop_assert_eq!(liquidator_gain, improvement);
            let before = p.equity(oracle).unwrap().0;
            prop_assert_eq!(
                after.equity(oracle).unwrap().0 + plan.insurance_fee.0 + liquidator_gain,
                before
            );
            prop_assert!(plan.insurance_fee.0 >= 0 && after.collateral.0 + plan.deficit.0 >= 0);
        }

        #[test]
        fn the_vault_is_owed_only_negative_equity_at_the_oracle(
            (p, oracle) in liquidatable_strategy()
        ) {
            let t = sample_tiers();
            let Ok(plan) = plan_liquidation(&p, oracle, &t, &PARAMS) else { return Ok(()); };
            let equity = p.equity(oracle).unwrap().0;
            // A solvent position is left at zero equity or more (less than an atom a lot of
            // rounding), never a deficit; a bankrupt one owes exactly its negative equity.
            prop_assert_eq!(plan.deficit.0, (-equity).max(0));
            if equity < 0 {
                prop_assert_eq!(plan.price, oracle);
            }
        }
    }

    #[test]
    fn a_bankruptcy_the_vault_covers_is_taken_over_and_one_beyond_it_queues() {
        // 1,000 lots long from 60 with 6,000 USDC, at 48: equity −6,000 USDC. It closes at the
        // oracle and the vault pays exactly its negative equity, or all it holds and it queues.
        let plan = plan_liquidation(&btc_long(), Price(48_000_000), &sample_tiers(), &PARAMS);
        let plan = plan.unwrap();
        assert_eq!(
            (plan.price, plan.deficit),
            (Price(48_000_000), SignedQuote(6_000_000_000))
        );
        assert_eq!(
            waterfall(&plan, 6_000_000_000),
            Ok(Waterfall::TakeOver {
                paid_by_insurance: 6_000_000_000
            })
        );
        let queued = waterfall(&plan, 100_000_000).unwrap();
        assert_eq!(
            queued,
            Waterfall::QueueForAdl {
                paid_by_insurance: 100_000_000
            }
        );
        assert_eq!(queued.paid_by_insurance(), 100_000_000);
    }
}
