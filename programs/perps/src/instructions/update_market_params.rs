use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::MarketParamsUpdated,
    state::{Exchange, Market, MarketParams, MarketStatus, EXCHANGE_SEED},
};

#[derive(Accounts)]
pub struct UpdateMarketParams<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<UpdateMarketParams>, params: MarketParams) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require!(
        market.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    params.validate(&ctx.accounts.exchange.bounds)?;
    params.validate_update(&market.params)?;
    market.params = params;
    emit!(MarketParamsUpdated {
        market: ctx.accounts.market.key(),
    });
    Ok(())
}
