use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    state::{Exchange, Market, Position, EXCHANGE_SEED},
};

#[derive(Accounts)]
pub struct SettleFunding<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, has_one = market @ PerpsError::WrongMarket)]
    pub position: AccountLoader<'info, Position>,
}

/// Permissionless: settles a position's funding into its collateral (every instruction that
/// touches a position does this too; this one lets keepers and UIs realize it on demand).
pub fn handler(ctx: Context<SettleFunding>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    ctx.accounts
        .position
        .load_mut()?
        .settle_funding(&mut market)
}
