use anchor_lang::prelude::*;
use perps_engine::RestingOrder;

use crate::{
    error::PerpsError,
    events::{Emitter, EventHeader, OrderCancelled},
    state::{CancelBy, CancelReason, Market, OrderBook, Position},
};

#[event_cpi]
#[derive(Accounts)]
pub struct CancelOrder<'info> {
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

/// Cancels one of the owner's resting orders, in any market status.
pub fn handler(ctx: Context<CancelOrder>, by: CancelBy) -> Result<()> {
    let (market_key, position_key) = (ctx.accounts.market.key(), ctx.accounts.position.key());
    let mut market = ctx.accounts.market.load_mut()?;
    let (side, order) = cancel_order_action(
        &mut market,
        &mut *ctx.accounts.order_book.load_mut()?,
        &mut *ctx.accounts.position.load_mut()?,
        &position_key,
        by,
        Clock::get()?.unix_timestamp,
    )?;
    Emitter::new(&ctx.accounts.event_authority)?.emit_market_now(
        &mut market,
        OrderCancelled {
            header: EventHeader::of(market_key),
            position: position_key,
            order_id: order.order_id,
            side: side.into(),
            lots: order.lots,
            reason: CancelReason::ByOwner,
        },
    )?;
    Ok(())
}

/// Takes the order `by` names off the book, if it is `position`'s (the account at `key`), and
/// forgets it in the position's open-order totals; the book's funding premium is sampled at `now`.
/// Returns the order and its side.
pub fn cancel_order_action(
    market: &mut Market,
    book: &mut OrderBook,
    position: &mut Position,
    key: &Pubkey,
    by: CancelBy,
    now: i64,
) -> Result<(perps_engine::OrderSide, RestingOrder)> {
    let (side, order) = book
        .book
        .cancel(&key.to_bytes(), by.into())
        .ok_or(PerpsError::OrderNotFound)?;
    position.remove_open_orders(side, order.lots, 1)?;
    market.resample_funding_premium(&book.book, now)?;
    Ok((side, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use perps_engine::{BaseLots, OrderSide, Price};

    #[test]
    fn cancels_by_either_id_and_forgets_the_order_in_the_totals() {
        let market = Pubkey::new_unique();
        let key = Pubkey::new_unique();
        let mut book = testing::order_book(market);
        let mut position = testing::position(market, 0, 0, 0);
        for (price, client_id) in [(60_000_000, 7), (59_990_000, 8)] {
            book.book
                .rest(
                    OrderSide::Bid,
                    key.to_bytes(),
                    Price(price),
                    BaseLots(5),
                    client_id,
                    false,
                )
                .unwrap();
            position.add_open_orders(OrderSide::Bid, 5, 1).unwrap();
        }
        let mut market = testing::market();
        let (side, first) = cancel_order_action(
            &mut market,
            &mut book,
            &mut position,
            &key,
            CancelBy::ClientOrderId(7),
            0,
        )
        .unwrap();
        assert_eq!(
            (side, first.price, first.lots),
            (OrderSide::Bid, 60_000_000, 5)
        );
        let id = second_id(&book);
        let (_, second) = cancel_order_action(
            &mut market,
            &mut book,
            &mut position,
            &key,
            CancelBy::OrderId(id),
            0,
        )
        .unwrap();
        assert_eq!(second.client_order_id, 8);
        assert_eq!((position.open_bid_lots, position.open_order_count), (0, 0));
        assert!(book.book.side(OrderSide::Bid).orders().is_empty());
    }

    fn second_id(book: &OrderBook) -> u64 {
        book.book.side(OrderSide::Bid).orders()[0].order_id
    }

    #[test]
    fn another_positions_order_is_not_found_and_stays() {
        let market = Pubkey::new_unique();
        let (owner, intruder) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut book = testing::order_book(market);
        let id = book
            .book
            .rest(
                OrderSide::Ask,
                owner.to_bytes(),
                Price(61_000_000),
                BaseLots(3),
                1,
                false,
            )
            .unwrap();
        let mut position = testing::position(market, 0, 0, 0);
        let refused = cancel_order_action(
            &mut testing::market(),
            &mut book,
            &mut position,
            &intruder,
            CancelBy::OrderId(id),
            0,
        );
        assert_eq!(refused.unwrap_err(), PerpsError::OrderNotFound.into());
        assert_eq!(book.book.side(OrderSide::Ask).orders().len(), 1);
    }
}
