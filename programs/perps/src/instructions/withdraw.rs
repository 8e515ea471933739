use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{OracleUse, Price};

use crate::{
    error::PerpsError,
    events::CollateralWithdrawn,
    oracle,
    state::{Market, MarketStatus, Position},
    vault,
};

#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    pub position: AccountLoader<'info, Position>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_token.mint == collateral_vault.mint @ PerpsError::InvalidMint)]
    pub owner_token: Box<Account<'info, TokenAccount>>,
    /// CHECK: read through `oracle::read_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Takes collateral out of the owner's position: all of it when the position is idle (no size, no
/// orders, no price needed), otherwise only what keeps equity at initial margin at the oracle
/// price (the settlement price once the market is settled).
pub fn handler(ctx: Context<Withdraw>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpsError::ZeroAmount);
    let market_key = ctx.accounts.market.key();
    let (signer, collateral) = {
        let mut market = ctx.accounts.market.load_mut()?;
        require!(
            market.status()? != MarketStatus::Paused,
            PerpsError::MarketPaused
        );
        let mut position = ctx.accounts.position.load_mut()?;
        position.settle_funding(&mut market)?;
        let state = position.state();
        require!(
            amount as i128 <= state.collateral.0,
            PerpsError::InsufficientCollateral
        );
        if !state.is_idle() {
            // A settled market values positions at its final price, not the oracle's.
            let price = if market.status()? == MarketStatus::Settled {
                Price(market.settlement_price)
            } else {
                oracle::observe_price(
                    &mut market,
                    &market_key,
                    &ctx.accounts.oracle,
                    OracleUse::Trading,
                )?
            };
            let free = state
                .max_withdrawal(
                    price,
                    &market.params.margin_tiers()?,
                    market.initial_margin_factor(price)?,
                    market.is_adl_pending(),
                )
                .map_err(PerpsError::from)?;
            require!(amount <= free.0, PerpsError::WithdrawalBelowInitialMargin);
        }
        position.collateral -= amount as i64;
        (market.signer(), position.collateral)
    };
    vault::transfer_out(
        &ctx.accounts.token_program,
        &ctx.accounts.collateral_vault,
        &ctx.accounts.owner_token,
        ctx.accounts.market.to_account_info(),
        &signer,
        amount,
    )?;
    emit!(CollateralWithdrawn {
        position: ctx.accounts.position.key(),
        amount,
        collateral,
    });
    Ok(())
}
