use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::CollateralDeposited,
    state::{Market, MarketStatus, Position},
    vault,
};

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub owner: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    pub position: AccountLoader<'info, Position>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = owner_token.mint == collateral_vault.mint @ PerpsError::InvalidMint,
        constraint = owner_token.owner == owner.key() @ PerpsError::Unauthorized,
    )]
    pub owner_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Adds collateral to the owner's position. Allowed while paused; not once settled.
pub fn handler(ctx: Context<Deposit>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpsError::ZeroAmount);
    require!(
        ctx.accounts.market.load()?.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    require!(
        ctx.accounts.owner_token.amount >= amount,
        PerpsError::InsufficientFunds
    );
    let collateral = {
        let mut position = ctx.accounts.position.load_mut()?;
        position.collateral = i64::try_from(amount)
            .ok()
            .and_then(|a| position.collateral.checked_add(a))
            .ok_or(PerpsError::MathOverflow)?;
        position.collateral
    };
    vault::transfer_in(
        &ctx.accounts.token_program,
        &ctx.accounts.owner_token,
        &ctx.accounts.collateral_vault,
        &ctx.accounts.owner,
        amount,
    )?;
    emit!(CollateralDeposited {
        position: ctx.accounts.position.key(),
        amount,
        collateral,
    });
    Ok(())
}
