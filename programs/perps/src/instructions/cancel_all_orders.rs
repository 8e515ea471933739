use anchor_lang::prelude::*;
use perps_engine::OrderSide;

use crate::{
    events::OrderCancelled,
    instructions::{cancel_order::CancelOrder, place_order::CANCEL_BY_OWNER},
};

/// Cancels every resting order of the owner's position, in any market status (same accounts as
/// `cancel_order`).
pub fn handler(ctx: Context<CancelOrder>) -> Result<()> {
    let position_key = ctx.accounts.position.key();
    let totals = ctx
        .accounts
        .order_book
        .load_mut()?
        .book
        .cancel_all(&position_key.to_bytes());
    let mut position = ctx.accounts.position.load_mut()?;
    position.remove_open_orders(OrderSide::Bid, totals.bid_lots.0, 0)?;
    position.remove_open_orders(OrderSide::Ask, totals.ask_lots.0, totals.orders)?;
    emit!(OrderCancelled {
        market: ctx.accounts.market.key(),
        position: position_key,
        order_id: 0,
        lots: totals.bid_lots.0 + totals.ask_lots.0,
        reason: CANCEL_BY_OWNER,
    });
    Ok(())
}
