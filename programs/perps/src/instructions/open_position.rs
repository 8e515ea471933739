use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::PositionOpened,
    state::{Market, MarketStatus, Position, POSITION_SEED},
};

#[derive(Accounts)]
pub struct OpenPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    #[account(
        init,
        payer = owner,
        space = 8 + std::mem::size_of::<Position>(),
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump
    )]
    pub position: AccountLoader<'info, Position>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<OpenPosition>) -> Result<()> {
    require!(
        ctx.accounts.market.load()?.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    let mut position = ctx.accounts.position.load_init()?;
    position.market = ctx.accounts.market.key();
    position.owner = ctx.accounts.owner.key();
    position.bump = ctx.bumps.position;
    emit!(PositionOpened {
        market: position.market,
        owner: position.owner,
        position: ctx.accounts.position.key(),
    });
    Ok(())
}
