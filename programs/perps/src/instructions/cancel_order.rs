use anchor_lang::prelude::*;
use perps_engine::book::OrderRef;

use crate::{
    error::PerpsError,
    events::OrderCancelled,
    instructions::place_order::CANCEL_BY_OWNER,
    state::{Market, OrderBook, Position},
};

#[derive(Accounts)]
pub struct CancelOrder<'info> {
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

/// How `cancel_order` names the order.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelBy {
    OrderId(u64),
    ClientOrderId(u64),
}

/// Cancels one of the owner's resting orders, in any market status.
pub fn handler(ctx: Context<CancelOrder>, by: CancelBy) -> Result<()> {
    let position_key = ctx.accounts.position.key();
    let order_ref = match by {
        CancelBy::OrderId(id) => OrderRef::OrderId(id),
        CancelBy::ClientOrderId(id) => OrderRef::ClientOrderId(id),
    };
    let (side, order) = ctx
        .accounts
        .order_book
        .load_mut()?
        .book
        .cancel(&position_key.to_bytes(), order_ref)
        .ok_or(PerpsError::OrderNotFound)?;
    ctx.accounts
        .position
        .load_mut()?
        .remove_open_orders(side, order.lots, 1)?;
    emit!(OrderCancelled {
        market: ctx.accounts.market.key(),
        position: position_key,
        order_id: order.order_id,
        lots: order.lots,
        reason: CANCEL_BY_OWNER,
    });
    Ok(())
}
