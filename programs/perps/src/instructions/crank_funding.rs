use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{funding, OracleUse, RatePpm};

use crate::{
    error::PerpsError,
    events::FundingUpdated,
    oracle,
    state::{Market, OrderBook},
    vault,
};

#[derive(Accounts)]
pub struct CrankFunding<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    /// CHECK: read through `oracle::read_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless, at most once per funding interval: moves the funding index by the mark's
/// clamped premium over the oracle, and sweeps the whole atoms of funding rounding to insurance.
pub fn handler(ctx: Context<CrankFunding>) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let now = Clock::get()?.unix_timestamp;
    let mut market = ctx.accounts.market.load_mut()?;
    market.require_open()?;
    let interval = market.params.funding_interval_secs;
    let elapsed = now - market.last_funding_time;
    require!(elapsed >= interval as i64, PerpsError::FundingNotDue);
    let oracle_price = oracle::read_price(
        &market,
        &market_key,
        &ctx.accounts.oracle,
        OracleUse::Trading,
    )?;
    let (best_bid, best_ask) = ctx.accounts.order_book.load()?.book.top();
    let mark = funding::mark_price(best_bid, best_ask, oracle_price);
    let rate = funding::funding_rate(
        mark,
        oracle_price,
        RatePpm(market.params.max_funding_rate_ppm),
    )
    .map_err(PerpsError::from)?;
    // Missed intervals are not charged at today's premium: at most one interval accrues.
    let accrued = elapsed.min(interval as i64);
    let delta = funding::funding_index_delta(rate, oracle_price, accrued, interval)
        .map_err(PerpsError::from)?;
    market.funding_index = market
        .funding_index
        .checked_add(delta)
        .ok_or(PerpsError::MathOverflow)?;
    market.last_funding_time = now;
    market.last_funding_rate_ppm = rate;
    let swept = market.funding_residue / funding::FUNDING_INDEX_SCALE as i64;
    market.funding_residue -= swept * funding::FUNDING_INDEX_SCALE as i64;
    let index = market.funding_index;
    let signer = market.signer();
    drop(market);
    if swept > 0 {
        vault::transfer_out(
            &ctx.accounts.token_program,
            &ctx.accounts.collateral_vault,
            &ctx.accounts.insurance_vault,
            ctx.accounts.market.to_account_info(),
            &signer,
            swept as u64,
        )?;
    }
    emit!(FundingUpdated {
        market: market_key,
        mark: mark.0,
        oracle: oracle_price.0,
        rate_ppm: rate,
        funding_index: index,
        swept_to_insurance: swept as u64,
    });
    Ok(())
}
