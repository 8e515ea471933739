use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::ExchangeInitialized,
    state::{Exchange, ExchangeBounds, EXCHANGE_SEED},
};

#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = 8 + Exchange::INIT_SPACE, seeds = [EXCHANGE_SEED], bump)]
    pub exchange: Box<Account<'info, Exchange>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    #[account(constraint = treasury.mint == collateral_mint.key() @ PerpsError::InvalidTreasury)]
    pub treasury: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeExchange>, bounds: ExchangeBounds) -> Result<()> {
    bounds.validate()?;
    let accounts = &mut *ctx.accounts;
    accounts.exchange.set_inner(Exchange {
        admin: accounts.admin.key(),
        collateral_mint: accounts.collateral_mint.key(),
        treasury: accounts.treasury.key(),
        bounds,
        market_count: 0,
        collateral_decimals: accounts.collateral_mint.decimals,
        bump: ctx.bumps.exchange,
        pending_admin: Pubkey::default(),
        paused: false,
        version: Exchange::VERSION,
        _reserved: [0; 128],
    });
    emit!(ExchangeInitialized {
        admin: accounts.admin.key(),
        collateral_mint: accounts.collateral_mint.key(),
        treasury: accounts.treasury.key(),
    });
    Ok(())
}
