use anchor_lang::prelude::*;

use crate::{
    events::OrderCancelled,
    instructions::{cancel_order::CancelOrder, place_order::CANCEL_BY_OWNER},
};

/// Cancels every resting order of the owner's position, in any market status (same accounts as
/// `cancel_order`).
pub fn handler(ctx: Context<CancelOrder>) -> Result<()> {
    let position_key = ctx.accounts.position.key();
    let mut position = ctx.accounts.position.load_mut()?;
    let totals = ctx
        .accounts
        .order_book
        .load_mut()?
        .cancel_all_of(&position_key, &mut position)?;
    emit!(OrderCancelled {
        market: ctx.accounts.market.key(),
        position: position_key,
        order_id: 0,
        lots: totals.bid_lots.0 + totals.ask_lots.0,
        reason: CANCEL_BY_OWNER,
    });
    Ok(())
}
