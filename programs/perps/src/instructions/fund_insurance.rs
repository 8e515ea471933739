use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::{Emitter, InsuranceFunded},
    state::{Exchange, Market, EXCHANGE_SEED},
    vault,
};

#[event_cpi]
#[derive(Accounts)]
pub struct FundInsurance<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    pub funder: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = funder_token.mint == insurance_vault.mint @ PerpsError::InvalidMint,
        constraint = funder_token.owner == funder.key() @ PerpsError::Unauthorized,
    )]
    pub funder_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Anyone may add to a market's insurance vault, in any market status.
pub fn handler(ctx: Context<FundInsurance>, amount: u64) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    require!(amount > 0, PerpsError::ZeroAmount);
    require!(
        ctx.accounts.funder_token.amount >= amount,
        PerpsError::InsufficientFunds
    );
    vault::transfer_in(
        &ctx.accounts.token_program,
        &ctx.accounts.funder_token,
        &ctx.accounts.insurance_vault,
        &ctx.accounts.funder,
        amount,
    )?;
    ctx.accounts.insurance_vault.reload()?;
    emitter.emit(&InsuranceFunded {
        market: ctx.accounts.market.key(),
        funder: ctx.accounts.funder.key(),
        amount,
        vault_balance: ctx.accounts.insurance_vault.amount,
    })?;
    emitter.flush()
}
