use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{OracleUse, Price};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{CollateralWithdrawn, Emitter, EventHeader},
    oracle::{self, BreakerEvents},
    state::{side_from_code, Exchange, Market, MarketStatus, Position, EXCHANGE_SEED},
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct Withdraw<'info> {
    /// The exchange: while it is paused, only an idle position withdraws.
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump)]
    pub exchange: Box<Account<'info, Exchange>>,
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
    let accounts = &ctx.accounts;
    let mut market = accounts.market.load_mut()?;
    let mut position = accounts.position.load_mut()?;
    let paused = accounts.exchange.paused;
    let mut breaker = BreakerEvents::default();
    let collateral = withdraw_action(&mut market, &mut position, amount, paused, |market| {
        oracle::observe_price(
            market,
            &accounts.market.key(),
            &accounts.oracle,
            OracleUse::Trading,
            &mut breaker,
        )
    })?;
    let mut emitter = Emitter::new(&accounts.event_authority)?;
    emitter.emit_breaker(&mut market, breaker)?;
    emitter.emit_market(
        &mut market,
        CollateralWithdrawn {
            header: EventHeader::of(accounts.market.key()),
            position: accounts.position.key(),
            amount,
            collateral,
        },
    )?;
    emitter.flush()?;
    vault::release_then_pay_out(
        market,
        position,
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[Payout {
            from: &accounts.collateral_vault,
            to: &accounts.owner_token,
            amount,
        }],
    )
}

/// Debits `amount` from `position` (the account at `key`; funding settled first) if what stays
/// meets initial margin; returns its collateral. `observe_price` reads the oracle, only for a
/// position with risk. While the market is in ADL, a position on the side being ranked withdraws
/// nothing; while the exchange is paused, only an idle position withdraws.
pub fn withdraw_action(
    market: &mut Market,
    position: &mut Position,
    amount: u64,
    exchange_paused: bool,
    observe_price: impl FnOnce(&mut Market) -> Result<Price>,
) -> Result<i64> {
    require!(amount > 0, PerpsError::ZeroAmount);
    require!(
        market.status()? != MarketStatus::Paused,
        PerpsError::MarketPaused
    );
    position.settle_funding(market)?;
    let state = position.state();
    require!(
        !exchange_paused || state.is_idle(),
        PerpsError::ExchangePaused
    );
    // A position on the side an ADL sweep ranks is scored by its collateral: what it deposits
    // stays until the market leaves ADL, or depositing before its slot is ranked and withdrawing
    // after would buy it a lower place (DESIGN.md §8).
    require!(
        !(market.is_adl_pending()
            && state.side() == Some(side_from_code(market.adl_candidate_side)?)),
        PerpsError::AdlPending
    );
    require!(
        amount as i128 <= state.collateral.0,
        PerpsError::InsufficientCollateral
    );
    if !state.is_idle() {
        // A settled market values positions at its final price, not the oracle's.
        let price = if market.status()? == MarketStatus::Settled {
            Price(market.settlement_price)
        } else {
            observe_price(market)?
        };
        let free = state
            .max_withdrawal(
                price,
                &market.params.margin_tiers()?,
                market.initial_margin_factor(price)?,
                market.is_adl_pending(),
            )
            .map_engine_err()?;
        require!(amount <= free.0, PerpsError::WithdrawalBelowInitialMargin);
    }
    position.collateral -= amount as i64;
    Ok(position.collateral)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};

    const P: u64 = 60 * USDC;

    fn no_oracle(_: &mut Market) -> Result<Price> {
        panic!("an idle position needs no price")
    }

    #[test]
    fn an_idle_position_takes_everything_without_a_price() {
        let mut market = testing::market();
        let mut position = testing::position(Pubkey::new_unique(), 100, 0, 0);
        assert_eq!(
            withdraw_action(&mut market, &mut position, 100, false, no_oracle).unwrap(),
            0
        );
    }

    #[test]
    fn a_position_with_risk_keeps_initial_margin() {
        // 100 lots long at 60 (6,000 USDC) with 200 USDC: initial margin 1% is 60 USDC, so
        // 140 USDC may leave and one atom more may not.
        let mut market = testing::market();
        let mut position =
            testing::position(Pubkey::new_unique(), (200 * USDC) as i64, 100, P as i64);
        let at_entry = |_: &mut Market| Ok(Price(P));
        assert_eq!(
            withdraw_action(
                &mut market,
                &mut position.clone(),
                140 * USDC + 1,
                false,
                at_entry
            )
            .unwrap_err(),
            PerpsError::WithdrawalBelowInitialMargin.into()
        );
        assert_eq!(
            withdraw_action(&mut market, &mut position, 140 * USDC, false, at_entry).unwrap(),
            (60 * USDC) as i64
        );
    }

    #[test]
    fn a_settled_market_values_at_its_settlement_price_and_a_paused_one_refuses() {
        let mut market = testing::market();
        market.status = MarketStatus::Settled as u8;
        // Settled at 66: the long is up 600 USDC, so 740 of its 800 of equity may leave.
        market.settlement_price = 66 * USDC;
        let mut position =
            testing::position(Pubkey::new_unique(), (200 * USDC) as i64, 100, P as i64);
        let free = withdraw_action(
            &mut market,
            &mut position.clone(),
            200 * USDC,
            false,
            no_oracle,
        );
        assert_eq!(free.unwrap(), 0);
        market.status = MarketStatus::Paused as u8;
        assert_eq!(
            withdraw_action(&mut market, &mut position, 1, false, no_oracle).unwrap_err(),
            PerpsError::MarketPaused.into()
        );
    }

    #[test]
    fn refuses_zero_and_more_than_the_collateral() {
        let mut market = testing::market();
        let mut position = testing::position(Pubkey::new_unique(), 100, 0, 0);
        assert_eq!(
            withdraw_action(&mut market, &mut position, 0, false, no_oracle).unwrap_err(),
            PerpsError::ZeroAmount.into()
        );
        assert_eq!(
            withdraw_action(&mut market, &mut position, 101, false, no_oracle).unwrap_err(),
            PerpsError::InsufficientCollateral.into()
        );
        assert_eq!(position.collateral, 100);
    }

    #[test]
    fn during_adl_the_side_being_ranked_withdraws_nothing() {
        // A long book: the shorts are ranked. A short cannot take out the deposit that lowered
        // its score; a long withdraws as usual.
        let mut market = testing::market();
        market.adl_book.base_lots = 10;
        market
            .start_adl_sweep(Pubkey::new_unique(), Price(P))
            .unwrap();
        let at_entry = |_: &mut Market| Ok(Price(P));
        let mut short =
            testing::position(Pubkey::new_unique(), (10_000 * USDC) as i64, -100, P as i64);
        assert_eq!(
            withdraw_action(&mut market, &mut short, 9_000 * USDC, false, at_entry).unwrap_err(),
            PerpsError::AdlPending.into()
        );
        let mut long =
            testing::position(Pubkey::new_unique(), (10_000 * USDC) as i64, 100, P as i64);
        assert!(withdraw_action(&mut market, &mut long, 9_000 * USDC, false, at_entry).is_ok());
    }

    #[test]
    fn a_paused_exchange_lets_only_an_idle_position_withdraw() {
        let mut market = testing::market();
        let mut idle = testing::position(Pubkey::new_unique(), 100, 0, 0);
        assert_eq!(
            withdraw_action(&mut market, &mut idle, 100, true, no_oracle).unwrap(),
            0
        );
        let mut long = testing::position(Pubkey::new_unique(), (10_000 * USDC) as i64, 1, P as i64);
        let at_entry = |_: &mut Market| Ok(Price(P));
        assert_eq!(
            withdraw_action(&mut market, &mut long, USDC, true, at_entry).unwrap_err(),
            PerpsError::ExchangePaused.into()
        );
        assert!(withdraw_action(&mut market, &mut long, USDC, false, at_entry).is_ok());
    }
}
