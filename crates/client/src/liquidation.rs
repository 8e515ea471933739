//! What `liquidate` would do to a position, judged off-chain with the program's own formulas.

use perps::state::{Market, Position};
use perps_engine::{
    liquidation::{plan_liquidation, waterfall, LiquidationPlan, Waterfall},
    Price,
};

/// The engine's liquidation plan for `position` at `price`, with its funding settled as the
/// program settles it first; `None` when the position is healthy or the figures overflow.
pub fn plan(market: &Market, position: &Position, price: Price) -> Option<LiquidationPlan> {
    let tiers = market.params.margin_tiers().ok()?;
    let state = position.state_at(market.funding_index).ok()?;
    plan_liquidation(&state, price, &tiers, &market.params.liquidation_params()).ok()
}

/// Whether `liquidate` would refuse `position` with `AdlPending` while another bankruptcy holds
/// the market's ADL queue: the engine's waterfall would queue it too (its deficit is more than
/// the insurance vault, `insurance` atoms, holds above its floor), and the queue takes one at a
/// time.
pub fn waits_for_adl(market: &Market, position: &Position, price: Price, insurance: u64) -> bool {
    if market.adl_pending == 0 {
        return false;
    }
    let available = insurance.saturating_sub(market.params.insurance_floor);
    plan(market, position, price)
        .and_then(|plan| waterfall(&plan, available).ok())
        .is_some_and(|decision| matches!(decision, Waterfall::QueueForAdl { .. }))
}
