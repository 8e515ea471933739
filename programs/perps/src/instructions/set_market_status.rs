use anchor_lang::prelude::*;
use perps_engine::OracleUse;

use crate::{
    error::PerpsError,
    events::MarketStatusChanged,
    oracle,
    state::{Exchange, Market, MarketStatus, EXCHANGE_SEED},
};

#[derive(Accounts)]
pub struct SetMarketStatus<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: read through `oracle::read_price` only when the market settles.
    pub oracle: UncheckedAccount<'info>,
}

/// Moves the market between Active, ReduceOnly and Paused, or settles it for good at the
/// current oracle price (which must pass the full trading checks).
pub fn handler(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    let old_status = market.status()?;
    require!(
        old_status != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    if status == MarketStatus::Settled {
        let price = oracle::read_price(
            &market,
            &market_key,
            &ctx.accounts.oracle,
            OracleUse::Trading,
        )?;
        market.settlement_price = price.0;
    }
    market.status = status as u8;
    // The admin's word replaces whatever the circuit breaker set.
    market.breaker_until = 0;
    emit!(MarketStatusChanged {
        market: market_key,
        old_status: old_status as u8,
        new_status: status as u8,
        settlement_price: market.settlement_price,
    });
    Ok(())
}
