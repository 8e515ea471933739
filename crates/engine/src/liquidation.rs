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
    let (after, fee) = after_transfer(state, lots, price, oracle, params)?;
    // The insurance fee never creates a deficit; a deficit left anyway is the bankruptcy.
    let available = after.collateral.max(SignedQuote::ZERO);
    let insurance_fee = fee.min(available);
    let deficit = SignedQuote(-after.collateral.0.min(0));
    Ok(LiquidationPlan {
        lots: BaseLots(lots),
        price,
        insurance_fee,
        full: lots == size,
        deficit,
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
    /// but waits for ADL. The vault pays what it holds, at most the deficit at the oracle price,
    /// so no liquidator's discount is handed to the ADL candidates.
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

/// Decides the waterfall for `plan` of `state` (funding settled) at `oracle`, with
/// `insurance_available` atoms in the vault above its floor.
pub fn waterfall(
    plan: &LiquidationPlan,
    state: &PositionState,
    oracle: Price,
    insurance_available: u64,
) -> EngineResult<Waterfall> {
    let deficit = u64::try_from(plan.deficit.0).map_err(|_| EngineError::MathOverflow)?;
    if deficit <= insurance_available {
        return Ok(Waterfall::TakeOver {
            paid_by_insurance: deficit,
        });
    }
    let oracle_deficit = state.equity(oracle)?.0.min(0).unsigned_abs();
    let oracle_deficit = u64::try_from(oracle_deficit).unwrap_or(u64::MAX);
    Ok(Waterfall::QueueForAdl {
        paid_by_insurance: insurance_available.min(oracle_deficit),
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
        // Buy-back at 62 · 1.002 = 62.124; no partial size helps a negative equity.
        assert_eq!(plan.price, Price(62_124_000));
        assert!(plan.full);
        // Collateral after: 100 − (6,212.4 − 6,000) = −112.4 USDC; no insurance fee is taken.
        assert_eq!(plan.deficit, SignedQuote(112_400_000));
        assert_eq!(plan.insurance_fee, SignedQuote(0));
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
    }

    #[test]
    fn a_deficit_the_vault_covers_is_taken_over_and_paid_in_full() {
        // 1,000 lots long from 60 with 6,000 USDC, at 54: equity 0 at the oracle; the full
        // close at 54 · 0.998 = 53.892 lacks 108 USDC.
        let plan = LiquidationPlan {
            lots: BaseLots(1_000),
            price: Price(53_892_000),
            insurance_fee: SignedQuote::ZERO,
            full: true,
            deficit: SignedQuote(108_000_000),
        };
        let decision = waterfall(&plan, &btc_long(), Price(54_000_000), 200_000_000).unwrap();
        assert_eq!(
            decision,
            Waterfall::TakeOver {
                paid_by_insurance: 108_000_000
            }
        );
        assert_eq!(decision.paid_by_insurance(), 108_000_000);
    }

    #[test]
    fn a_deficit_beyond_the_vault_queues_and_the_vault_pays_at_most_the_oracle_deficit() {
        let plan = LiquidationPlan {
            lots: BaseLots(1_000),
            price: Price(47_904_000),
            insurance_fee: SignedQuote::ZERO,
            full: true,
            deficit: SignedQuote(6_096_000_000),
        };
        // At 48: equity 6,000 − 12,000 = −6,000 USDC; the full close at 47.904 lacks 6,096.
        let oracle = Price(48_000_000);
        assert_eq!(
            waterfall(&plan, &btc_long(), oracle, 100_000_000).unwrap(),
            Waterfall::QueueForAdl {
                paid_by_insurance: 100_000_000
            }
        );
        // A vault holding 6,050 pays only the 6,000 the position lacks at the oracle.
        assert_eq!(
            waterfall(&plan, &btc_long(), oracle, 6_050_000_000).unwrap(),
            Waterfall::QueueForAdl {
                paid_by_insurance: 6_000_000_000
            }
        );
    }
}
