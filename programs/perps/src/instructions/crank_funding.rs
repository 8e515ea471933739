use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{funding, OracleUse, Price, RatePpm};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::FundingUpdated,
    oracle,
    state::{Market, OrderBook},
    vault::{self, Payout},
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
    let accounts = &ctx.accounts;
    let market_key = accounts.market.key();
    let mut market = accounts.market.load_mut()?;
    let event = crank_funding_action(
        &mut market,
        market_key,
        &*accounts.order_book.load()?,
        Clock::get()?.unix_timestamp,
        |market| oracle::read_price(market, &market_key, &accounts.oracle, OracleUse::Trading),
    )?;
    vault::release_then_pay_out(
        market,
        (),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[Payout {
            from: &accounts.collateral_vault,
            to: &accounts.insurance_vault,
            amount: event.swept_to_insurance,
        }],
    )?;
    emit!(event);
    Ok(())
}

/// Moves the market's funding index at `now` (refused before an interval has passed) and takes
/// the whole atoms out of the funding residue; the event says what moved.
pub fn crank_funding_action(
    market: &mut Market,
    market_key: Pubkey,
    book: &OrderBook,
    now: i64,
    read_price: impl FnOnce(&Market) -> Result<Price>,
) -> Result<FundingUpdated> {
    market.require_open()?;
    let interval = market.params.funding_interval_secs;
    let elapsed = now - market.last_funding_time;
    require!(elapsed >= interval as i64, PerpsError::FundingNotDue);
    let oracle_price = read_price(market)?;
    let (best_bid, best_ask) = book.book.top();
    let mark = funding::mark_price(best_bid, best_ask, oracle_price);
    let rate = funding::funding_rate(
        mark,
        oracle_price,
        RatePpm(market.params.max_funding_rate_ppm),
    )
    .map_engine_err()?;
    // Missed intervals are not charged at today's premium: at most one interval accrues.
    let accrued = elapsed.min(interval as i64);
    let delta =
        funding::funding_index_delta(rate, oracle_price, accrued, interval).map_engine_err()?;
    market.funding_index = market
        .funding_index
        .checked_add(delta)
        .ok_or(PerpsError::MathOverflow)?;
    market.last_funding_time = now;
    market.last_funding_rate_ppm = rate;
    let swept = market.funding_residue / funding::FUNDING_INDEX_SCALE as i64;
    market.funding_residue -= swept * funding::FUNDING_INDEX_SCALE as i64;
    Ok(FundingUpdated {
        market: market_key,
        mark: mark.0,
        oracle: oracle_price.0,
        rate_ppm: rate,
        funding_index: market.funding_index,
        swept_to_insurance: swept as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};
    use perps_engine::{BaseLots, OrderSide};

    const HOUR: i64 = 3_600;

    #[test]
    fn a_book_mid_above_the_oracle_makes_longs_pay_capped_at_the_rate_limit() {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        let mut book = testing::order_book(key);
        // Mid 61 over an oracle of 60: a 1.67% premium, capped at the market's 0.1%.
        book.book
            .rest(
                OrderSide::Bid,
                [1; 32],
                Price(60 * USDC),
                BaseLots(1),
                1,
                false,
            )
            .unwrap();
        book.book
            .rest(
                OrderSide::Ask,
                [2; 32],
                Price(62 * USDC),
                BaseLots(1),
                2,
                false,
            )
            .unwrap();
        market.funding_residue = 2 * funding::FUNDING_INDEX_SCALE as i64 + 7;
        let event =
            crank_funding_action(&mut market, key, &book, HOUR, |_| Ok(Price(60 * USDC))).unwrap();
        assert_eq!((event.mark, event.rate_ppm), (61 * USDC, 1_000));
        // 0.1% of 60 USDC a lot, in millionths of an atom: 60,000 atoms · 10^6.
        assert_eq!(
            event.funding_index,
            60_000 * funding::FUNDING_INDEX_SCALE as i64
        );
        assert_eq!(event.swept_to_insurance, 2);
        assert_eq!(
            (market.funding_residue, market.last_funding_time),
            (7, HOUR)
        );
    }

    #[test]
    fn refuses_before_the_interval_and_in_a_paused_market() {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        let book = testing::order_book(key);
        let price = |_: &Market| Ok(Price(60 * USDC));
        assert_eq!(
            crank_funding_action(&mut market, key, &book, HOUR - 1, price)
                .err()
                .unwrap(),
            PerpsError::FundingNotDue.into()
        );
        market.status = crate::state::MarketStatus::Paused as u8;
        assert_eq!(
            crank_funding_action(&mut market, key, &book, HOUR, price)
                .err()
                .unwrap(),
            PerpsError::MarketPaused.into()
        );
        assert_eq!(market.funding_index, 0);
    }
}
