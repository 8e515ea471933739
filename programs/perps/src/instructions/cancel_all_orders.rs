use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::OrderCancelled,
    state::{CancelReason, Market, OrderBook, Position},
};

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
    let position_key = ctx.accounts.position.key();
    let lots = cancel_all_orders_action(
        &mut *ctx.accounts.market.load_mut()?,
        &mut *ctx.accounts.order_book.load_mut()?,
        &mut *ctx.accounts.position.load_mut()?,
        &position_key,
        Clock::get()?.unix_timestamp,
    )?;
    emit!(OrderCancelled {
        market: ctx.accounts.market.key(),
        position: position_key,
        order_id: 0,
        lots,
        reason: CancelReason::ByOwner,
    });
    Ok(())
}

/// Removes every resting order of `position` (the account at `key`) with
/// `OrderBook::cancel_all_of`, shared with liquidation and ADL, and samples the book's funding
/// premium at `now`; returns the lots removed.
pub fn cancel_all_orders_action(
    market: &mut Market,
    book: &mut OrderBook,
    position: &mut Position,
    key: &Pubkey,
    now: i64,
) -> Result<u64> {
    let totals = book.cancel_all_of(key, position)?;
    market.resample_funding_premium(&book.book, now)?;
    Ok(totals.bid_lots.0 + totals.ask_lots.0)
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
        let lots =
            cancel_all_orders_action(&mut market, &mut book, &mut position, &key, 100).unwrap();
        assert_eq!(lots, 400);
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
