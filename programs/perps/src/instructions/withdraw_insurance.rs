use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::{Emitter, EventHeader, InsuranceWithdrawn},
    state::{Exchange, Market, EXCHANGE_SEED},
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawInsurance<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = destination.mint == insurance_vault.mint @ PerpsError::InvalidMint)]
    pub destination: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Admin only: takes insurance above the market's floor, never while an ADL is pending.
pub fn handler(ctx: Context<WithdrawInsurance>, amount: u64) -> Result<()> {
    let accounts = &ctx.accounts;
    let mut market = accounts.market.load_mut()?;
    check_insurance_withdrawal(&market, accounts.insurance_vault.amount, amount)?;
    Emitter::new(&accounts.event_authority)?.emit_market_now(
        &mut market,
        InsuranceWithdrawn {
            header: EventHeader::of(accounts.market.key()),
            amount,
            vault_balance: accounts.insurance_vault.amount - amount,
        },
    )?;
    vault::release_then_pay_out(
        market,
        (),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[Payout {
            from: &accounts.insurance_vault,
            to: &accounts.destination,
            amount,
        }],
    )
}

/// Whether `amount` may leave an insurance vault holding `balance`: not while ADL is pending or
/// the ADL book holds bad debt (opposite bankruptcies that netted to no lots with a loss the
/// vault could not pay), not from a settled market before every position is settled (a
/// position below zero at the settlement price draws on it), and never below the market's floor.
pub fn check_insurance_withdrawal(market: &Market, balance: u64, amount: u64) -> Result<()> {
    require!(amount > 0, PerpsError::ZeroAmount);
    require!(
        !market.is_adl_pending() && market.adl_book.collateral >= 0,
        PerpsError::AdlPending
    );
    require!(
        market.status()? != crate::state::MarketStatus::Settled
            || (market.open_interest_long == 0 && market.open_interest_short == 0),
        PerpsError::SettlementIncomplete
    );
    let above_floor = balance.saturating_sub(market.params.insurance_floor);
    require!(amount <= above_floor, PerpsError::InsuranceBelowFloor);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn only_what_is_above_the_floor_and_never_during_adl() {
        let mut market = testing::market();
        market.params.insurance_floor = 40;
        assert!(check_insurance_withdrawal(&market, 100, 60).is_ok());
        assert_eq!(
            check_insurance_withdrawal(&market, 100, 61).unwrap_err(),
            PerpsError::InsuranceBelowFloor.into()
        );
        assert_eq!(
            check_insurance_withdrawal(&market, 100, 0).unwrap_err(),
            PerpsError::ZeroAmount.into()
        );
        market.adl_book.base_lots = 5;
        assert_eq!(
            check_insurance_withdrawal(&market, 100, 1).unwrap_err(),
            PerpsError::AdlPending.into()
        );
        market.adl_book.base_lots = 0;
        market.adl_book.collateral = -1;
        assert_eq!(
            check_insurance_withdrawal(&market, 100, 1).unwrap_err(),
            PerpsError::AdlPending.into()
        );
        // A settled market keeps its vault until every position is settled.
        market.adl_book.collateral = 0;
        market.status = crate::state::MarketStatus::Settled as u8;
        market.open_interest_long = 5;
        market.open_interest_short = 5;
        assert_eq!(
            check_insurance_withdrawal(&market, 100, 1).unwrap_err(),
            PerpsError::SettlementIncomplete.into()
        );
        market.open_interest_long = 0;
        market.open_interest_short = 0;
        assert!(check_insurance_withdrawal(&market, 100, 1).is_ok());
    }
}
