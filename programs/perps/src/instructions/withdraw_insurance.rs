use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::InsuranceWithdrawn,
    state::{Exchange, Market, EXCHANGE_SEED},
    vault,
};

#[derive(Accounts)]
pub struct WithdrawInsurance<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = destination.mint == insurance_vault.mint @ PerpsError::InvalidMint)]
    pub destination: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Admin only: takes insurance above the market's floor, never while an ADL is pending.
pub fn handler(ctx: Context<WithdrawInsurance>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpsError::ZeroAmount);
    let signer = {
        let market = ctx.accounts.market.load()?;
        require!(!market.is_adl_pending(), PerpsError::AdlPending);
        let above_floor = ctx
            .accounts
            .insurance_vault
            .amount
            .saturating_sub(market.params.insurance_floor);
        require!(amount <= above_floor, PerpsError::InsuranceBelowFloor);
        market.signer()
    };
    vault::transfer_out(
        &ctx.accounts.token_program,
        &ctx.accounts.insurance_vault,
        &ctx.accounts.destination,
        ctx.accounts.market.to_account_info(),
        &signer,
        amount,
    )?;
    ctx.accounts.insurance_vault.reload()?;
    emit!(InsuranceWithdrawn {
        market: ctx.accounts.market.key(),
        amount,
        vault_balance: ctx.accounts.insurance_vault.amount,
    });
    Ok(())
}
