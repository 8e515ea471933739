use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::{CollateralDeposited, Emitter},
    state::{Exchange, Market, MarketStatus, Position, EXCHANGE_SEED},
    vault,
};

#[event_cpi]
#[derive(Accounts)]
pub struct Deposit<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
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
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let collateral = deposit_action(
        &*ctx.accounts.market.load()?,
        &mut *ctx.accounts.position.load_mut()?,
        amount,
        ctx.accounts.owner_token.amount,
    )?;
    vault::transfer_in(
        &ctx.accounts.token_program,
        &ctx.accounts.owner_token,
        &ctx.accounts.collateral_vault,
        &ctx.accounts.owner,
        amount,
    )?;
    emitter.emit(&CollateralDeposited {
        position: ctx.accounts.position.key(),
        amount,
        collateral,
    })?;
    emitter.flush()
}

/// Credits `amount` from a wallet holding `wallet_balance` to `position`; returns its collateral.
pub fn deposit_action(
    market: &Market,
    position: &mut Position,
    amount: u64,
    wallet_balance: u64,
) -> Result<i64> {
    require!(amount > 0, PerpsError::ZeroAmount);
    require!(
        market.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    require!(wallet_balance >= amount, PerpsError::InsufficientFunds);
    position.add_collateral(amount)?;
    Ok(position.collateral)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn credits_the_position_while_active_or_paused() {
        let mut market = testing::market();
        let mut position = testing::position(Pubkey::new_unique(), 5, 0, 0);
        assert_eq!(deposit_action(&market, &mut position, 20, 20).unwrap(), 25);
        market.status = MarketStatus::Paused as u8;
        assert_eq!(deposit_action(&market, &mut position, 5, 100).unwrap(), 30);
    }

    #[test]
    fn refuses_zero_a_short_wallet_a_settled_market_and_overflow_changing_nothing() {
        let mut market = testing::market();
        let mut position = testing::position(Pubkey::new_unique(), 5, 0, 0);
        let refused = |market: &Market, position: &mut Position, amount, wallet| {
            deposit_action(market, position, amount, wallet).unwrap_err()
        };
        assert_eq!(
            refused(&market, &mut position, 0, 10),
            PerpsError::ZeroAmount.into()
        );
        assert_eq!(
            refused(&market, &mut position, 11, 10),
            PerpsError::InsufficientFunds.into()
        );
        assert_eq!(
            refused(&market, &mut position, u64::MAX, u64::MAX),
            PerpsError::MathOverflow.into()
        );
        market.status = MarketStatus::Settled as u8;
        assert_eq!(
            refused(&market, &mut position, 1, 10),
            PerpsError::MarketSettled.into()
        );
        assert_eq!(position.collateral, 5);
    }
}
