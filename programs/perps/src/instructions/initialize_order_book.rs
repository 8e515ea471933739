use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, OrderBookInitialized},
    state::{Exchange, Market, OrderBook, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct InitializeOrderBook<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    /// Created by the client (system `create_account`, owner this program, zeroed, rent-exempt).
    #[account(zero)]
    pub order_book: AccountLoader<'info, OrderBook>,
}

/// Adopts a client-created account as the market's order book.
pub fn handler(ctx: Context<InitializeOrderBook>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require_keys_eq!(
        market.order_book,
        Pubkey::default(),
        PerpsError::OrderBookAlreadySet
    );
    let mut book = ctx.accounts.order_book.load_init()?;
    book.market = ctx.accounts.market.key();
    book.version = OrderBook::VERSION;
    book.book.next_order_id = 1;
    market.order_book = ctx.accounts.order_book.key();
    Emitter::new(&ctx.accounts.event_authority)?.emit_now(&OrderBookInitialized {
        market: ctx.accounts.market.key(),
        order_book: market.order_book,
    })
}
