use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::Emitter,
    state::{CancelReason, CancelledOrder, Market, OrderBook, Position},
};

#[event_cpi]
#[derive(Accounts)]
pub struct CancelAllOrders<'info> {
    pub owner: Signer<'info>,
    /// Writable: the cancel samples the book's funding premium (DESIGN.md §10).
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    pub position: AccountLoader<'info, Position>,
}

/// Cancels every resting order of the owner's position, in any market status.
pub fn handler(ctx: Context<CancelAllOrders>) -> Result<()> {
    let (market_key, position_key) = (ctx.accounts.market.key(), ctx.accounts.position.key());
    let mut market = ctx.accounts.market.load_mut()?;
    let cancelled = cancel_all_orders_action(
        &mut market,
        &mut *ctx.accounts.order_book.load_mut()?,
        &mut *ctx.accounts.position.load_mut()?,
        &position_key,
        Clock::get()?.unix_timestamp,
    )?;
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    for order in cancelled {
        emitter.emit_market(
            &mut market,
            order.event(market_key, position_key, CancelReason::ByOwner),
        )?;
    }
    emitter.flush()
}

/// Removes every resting order of `position` (the account at `key`) with
/// `OrderBook::cancel_all_of`, shared with liquidation and ADL, and samples the book's funding
/// premium at `now`; returns the orders removed.
pub fn cancel_all_orders_action(
    market: &mut Market,
    book: &mut OrderBook,
    position: &mut Position,
    key: &Pubkey,
    now: i64,
) -> Result<Vec<CancelledOrder>> {
    let cancelled = book.cancel_all_of(key, position)?;
    market.resample_funding_premium(&book.book, now)?;
    Ok(cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};
    use perps_engine::{BaseLots, OrderSide, Price};

    #[test]
    fn cancelling_impact_liquidity_takes_its_premium_off_from_that_second() {
        let market_key = Pubkey::new_unique();
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        let mut book = testing::order_book(market_key);
        let mut position = testing::position(market_key, 1_000 * USDC as i64, 0, 0);
        // 400 lots bid at 60.12 over an oracle of 60 for 100 s: 2,000 ppm held 100 s.
        book.book
            .rest(
                OrderSide::Bid,
                key.to_bytes(),
                Price(60_120_000),
                BaseLots(400),
                1,
                false,
            )
            .unwrap();
        position.add_open_orders(OrderSide::Bid, 400, 1).unwrap();
        market
            .sample_funding_premium(&book.book, Price(60 * USDC), 0)
            .unwrap();
        let cancelled =
            cancel_all_orders_action(&mut market, &mut book, &mut position, &key, 100).unwrap();
        assert_eq!(
            cancelled,
            vec![CancelledOrder {
                side: OrderSide::Bid,
                order_id: 0,
                lots: 400
            }]
        );
        assert_eq!((position.open_bid_lots, position.open_order_count), (0, 0));
        assert_eq!(
            (
                market.funding_premium_ppm,
                market.funding_premium_sum,
                market.funding_sample_time
            ),
            (0, 200_000, 100)
        );
    }
}
