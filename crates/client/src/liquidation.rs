//! What `liquidate` would do to a position, judged off-chain with the program's own formulas.

use perps::state::{Market, Position};
use perps_engine::{
    liquidation::{plan_liquidation, LiquidationPlan},
    Price,
};

/// The engine's liquidation plan for `position` at `price`, with its funding settled as the
/// program settles it first; `None` when the position is healthy or the figures overflow.
pub fn plan(market: &Market, position: &Position, price: Price) -> Option<LiquidationPlan> {
    let tiers = market.params.margin_tiers().ok()?;
    let state = position.state_at(market.funding_index).ok()?;
    plan_liquidation(&state, price, &tiers, &market.params.liquidation_params()).ok()
}
