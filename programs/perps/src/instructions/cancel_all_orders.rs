use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::OrderCancelled,
    state::{CancelReason, Market, OrderBook, Position},
};

#[derive(Accounts)]
pub struct CancelAllOrders<'info> {
    pub owner: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    pub position: AccountLoader<'info, Position>,
}

/// Cancels every resting order of the owner's position, in any market status. The book and
/// position bookkeeping is `OrderBook::cancel_all_of`, shared with liquidation and ADL.
pub fn handler(ctx: Context<CancelAllOrders>) -> Result<()> {
    let position_key = ctx.accounts.position.key();
    let totals = ctx
        .accounts
        .order_book
        .load_mut()?
        .cancel_all_of(&position_key, &mut *ctx.accounts.position.load_mut()?)?;
    emit!(OrderCancelled {
        market: ctx.accounts.market.key(),
        position: position_key,
        order_id: 0,
        lots: totals.bid_lots.0 + totals.ask_lots.0,
        reason: CancelReason::ByOwner,
    });
    Ok(())
}
