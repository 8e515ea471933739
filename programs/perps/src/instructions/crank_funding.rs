use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{funding, OracleUse, Price, RatePpm};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{Emitter, EventHeader, FundingUpdated},
    oracle,
    state::{Exchange, Market, OrderBook, EXCHANGE_SEED},
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct CrankFunding<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
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

/// Permissionless, at most once per funding interval: moves the funding index by the book's
/// time-weighted impact premium over the oracle since the last crank, clamped (DESIGN.md §10),
/// and sweeps the whole atoms of funding rounding to insurance.
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
    let swept = event.swept_to_insurance;
    Emitter::new(&accounts.event_authority)?.emit_market_now(&mut market, event)?;
    vault::release_then_pay_out(
        market,
        (),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[Payout {
            from: &accounts.collateral_vault,
            to: &accounts.insurance_vault,
            amount: swept,
        }],
    )
}

/// Moves the market's funding index at `now` (refused before an interval has passed) by the
/// time-weighted impact premium since the last crank, samples the book's premium at the oracle
/// for the next interval, and takes the whole atoms out of the funding residue; the event says
/// what moved.
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
    // The crank is a sample too: it closes the interval at the premium that held through its
    // end, and re-takes the book's premium at today's oracle for the next one.
    market.sample_funding_premium(&book.book, oracle_price, now)?;
    let premium = market.take_average_premium(elapsed)?;
    let rate = funding::rate_from_premium(premium, RatePpm(market.params.max_funding_rate_ppm));
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
    let swept = market.take_funding_residue();
    Ok(FundingUpdated {
        header: EventHeader::of(market_key),
        premium_ppm: premium,
        oracle: oracle_price.0,
        rate_ppm: rate,
        funding_index: market.funding_index,
        swept_to_insurance: swept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};
    use perps_engine::{BaseLots, OrderSide};

    const HOUR: i64 = 3_600;

    fn bid(book: &mut OrderBook, price: u64, lots: u64) {
        book.book
            .rest(
                OrderSide::Bid,
                [1; 32],
                Price(price),
                BaseLots(lots),
                1,
                false,
            )
            .unwrap();
    }

    #[test]
    fn impact_liquidity_resting_through_the_interval_makes_longs_pay_capped_at_the_rate_limit() {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        let mut book = testing::order_book(key);
        // 400 lots bid at 60.12 (24,048 USDC, over the 20,000 USDC impact notional) for the
        // whole hour: 2,000 ppm over the oracle of 60, capped at the market's 0.1%.
        bid(&mut book, 60_120_000, 400);
        market
            .sample_funding_premium(&book.book, Price(60 * USDC), 0)
            .unwrap();
        assert_eq!(market.funding_premium_ppm, 2_000);
        market.funding_residue = 2 * funding::FUNDING_INDEX_SCALE as i64 + 7;
        let event =
            crank_funding_action(&mut market, key, &book, HOUR, |_| Ok(Price(60 * USDC))).unwrap();
        assert_eq!((event.premium_ppm, event.rate_ppm), (2_000, 1_000));
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
        assert_eq!(
            (market.funding_premium_sum, market.funding_sample_time),
            (0, HOUR)
        );
    }

    #[test]
    fn quotes_placed_and_cancelled_around_the_crank_weigh_nothing() {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        let mut book = testing::order_book(key);
        let oracle = |_: &Market| Ok(Price(60 * USDC));
        // An empty book all hour; in the crank's own second, 400 lots bid at 62.90 (48,333 ppm
        // over the oracle) go on the book and come off again: they held for no time.
        bid(&mut book, 62_900_000, 400);
        market
            .sample_funding_premium(&book.book, Price(60 * USDC), HOUR)
            .unwrap();
        let event = crank_funding_action(&mut market, key, &book, HOUR, oracle).unwrap();
        assert_eq!((event.premium_ppm, event.rate_ppm), (0, 0));
        book.book.cancel_all(&[1; 32], &mut |_, _| {});
        market.resample_funding_premium(&book.book, HOUR).unwrap();
        let event = crank_funding_action(&mut market, key, &book, 2 * HOUR, oracle).unwrap();
        assert_eq!((event.premium_ppm, event.rate_ppm), (0, 0));
        // Left on the book for the last 36 seconds of the next hour, the same bid weighs 1%
        // of its premium: 483 ppm (and is exposed to every seller for those 36 seconds).
        bid(&mut book, 62_900_000, 400);
        market
            .sample_funding_premium(&book.book, Price(60 * USDC), 3 * HOUR - 36)
            .unwrap();
        let event = crank_funding_action(&mut market, key, &book, 3 * HOUR, oracle).unwrap();
        assert_eq!((event.premium_ppm, event.rate_ppm), (483, 483));
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
