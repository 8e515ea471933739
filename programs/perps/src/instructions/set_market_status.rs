use anchor_lang::prelude::*;
use perps_engine::{OracleUse, Price};

use crate::{
    error::PerpsError,
    events::{Emitter, EventHeader, MarketStatusChanged},
    oracle,
    state::{Exchange, Market, MarketStatus, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct SetMarketStatus<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: read through `oracle::read_price` only when the market settles.
    pub oracle: UncheckedAccount<'info>,
}

/// Moves the market between Active, ReduceOnly and Paused, or settles it for good at the
/// current oracle price (which must pass the full trading checks).
pub fn handler(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    let old_status = set_market_status_action(&mut market, status, |market| {
        oracle::read_price(
            market,
            &market_key,
            &ctx.accounts.oracle,
            OracleUse::Trading,
        )
    })?;
    let settlement_price = market.settlement_price;
    Emitter::new(&ctx.accounts.event_authority)?.emit_market_now(
        &mut market,
        MarketStatusChanged {
            header: EventHeader::of(market_key),
            old_status,
            new_status: status,
            settlement_price,
        },
    )?;
    Ok(())
}

/// Sets `status` (a settled market is final; settling fixes the price `read_price` gives, and is
/// refused while the market is in ADL) and returns the status it replaced.
pub fn set_market_status_action(
    market: &mut Market,
    status: MarketStatus,
    read_price: impl FnOnce(&Market) -> Result<Price>,
) -> Result<MarketStatus> {
    let old_status = market.status()?;
    require!(
        old_status != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    if status == MarketStatus::Settled {
        // `adl` refuses a settled market: settling now would leave the ADL book open for good.
        require!(!market.is_adl_pending(), PerpsError::AdlPending);
        market.settlement_price = read_price(market)?.0;
    }
    market.status = status as u8;
    // The admin's word replaces whatever the circuit breaker set.
    market.breaker_until = 0;
    Ok(old_status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn the_admin_overrides_the_breaker_and_settling_fixes_the_price_for_good() {
        let mut market = testing::market();
        market.status = MarketStatus::ReduceOnly as u8;
        market.breaker_until = 1_000;
        let no_price = |_: &Market| -> Result<Price> { panic!("only settling reads the price") };
        let old = set_market_status_action(&mut market, MarketStatus::Active, no_price).unwrap();
        assert_eq!((old, market.breaker_until), (MarketStatus::ReduceOnly, 0));
        // Not while the ADL book is open.
        market.adl_book.base_lots = 5;
        assert_eq!(
            set_market_status_action(&mut market, MarketStatus::Settled, no_price).unwrap_err(),
            PerpsError::AdlPending.into()
        );
        market.adl_book.base_lots = 0;
        set_market_status_action(&mut market, MarketStatus::Settled, |_| {
            Ok(Price(61_000_000))
        })
        .unwrap();
        assert_eq!(market.settlement_price, 61_000_000);
        assert_eq!(
            set_market_status_action(&mut market, MarketStatus::Active, no_price).unwrap_err(),
            PerpsError::MarketSettled.into()
        );
        assert_eq!(market.status().unwrap(), MarketStatus::Settled);
    }
}
