use anchor_lang::prelude::*;
use perps_engine::Book;

/// A market's order book: zero-copy and too large for a CPI create, so the client creates the
/// account and `initialize_order_book` adopts it (DESIGN.md §4).
#[account(zero_copy)]
pub struct OrderBook {
    pub market: Pubkey,
    /// The account layout's version (`OrderBook::VERSION` when adopted).
    pub version: u8,
    pub _padding: [u8; 7],
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 64],
    pub book: Book,
}

// The README's account table: 73,864 bytes, 64 of them reserved.
const _: () = assert!(8 + std::mem::size_of::<OrderBook>() == 73_864);

impl OrderBook {
    pub const VERSION: u8 = 1;
}

/// A resting order a mass cancel took off the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancelledOrder {
    pub side: perps_engine::OrderSide,
    pub order_id: u64,
    pub lots: u64,
}

impl CancelledOrder {
    /// The `OrderCancelled` event of this order of `position`, for `reason`.
    pub fn event(
        &self,
        market: Pubkey,
        position: Pubkey,
        reason: crate::state::CancelReason,
    ) -> crate::events::OrderCancelled {
        crate::events::OrderCancelled {
            header: crate::events::EventHeader::of(market),
            position,
            order_id: self.order_id,
            side: self.side.into(),
            lots: self.lots,
            reason,
        }
    }
}

impl OrderBook {
    /// Removes every resting order of `position` (the account at `key`) and forgets them in its
    /// open-order totals; returns each order removed (at most `MAX_OPEN_ORDERS_PER_POSITION`).
    pub fn cancel_all_of(
        &mut self,
        key: &Pubkey,
        position: &mut crate::state::Position,
    ) -> Result<Vec<CancelledOrder>> {
        let mut orders = Vec::with_capacity(position.open_order_count as usize);
        let totals = self.book.cancel_all(&key.to_bytes(), &mut |side, order| {
            orders.push(CancelledOrder {
                side,
                order_id: order.order_id,
                lots: order.lots,
            })
        });
        position.remove_open_orders(perps_engine::OrderSide::Bid, totals.bid_lots.0, 0)?;
        position.remove_open_orders(
            perps_engine::OrderSide::Ask,
            totals.ask_lots.0,
            totals.orders,
        )?;
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use perps_engine::{BaseLots, OrderSide, Price};

    #[test]
    fn cancel_all_of_removes_only_that_positions_orders_and_forgets_them_in_its_totals() {
        let market = Pubkey::new_unique();
        let (key, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut book = testing::order_book(market);
        let mut position = testing::position(market, 0, 0, 0);
        for (side, price, lots) in [
            (OrderSide::Bid, 59_000_000, 3),
            (OrderSide::Ask, 61_000_000, 4),
            (OrderSide::Ask, 62_000_000, 5),
        ] {
            book.book
                .rest(side, key.to_bytes(), Price(price), BaseLots(lots), 0, false)
                .unwrap();
            position.add_open_orders(side, lots, 1).unwrap();
        }
        book.book
            .rest(
                OrderSide::Bid,
                other.to_bytes(),
                Price(58_000_000),
                BaseLots(1),
                0,
                false,
            )
            .unwrap();
        let cancelled = book.cancel_all_of(&key, &mut position).unwrap();
        let ids: Vec<(OrderSide, u64)> = cancelled.iter().map(|o| (o.side, o.lots)).collect();
        assert_eq!(
            ids,
            // Each side as stored, worst price first.
            vec![
                (OrderSide::Bid, 3),
                (OrderSide::Ask, 5),
                (OrderSide::Ask, 4)
            ]
        );
        assert!(!position.has_open_orders());
        assert_eq!(book.book.side(OrderSide::Bid).orders().len(), 1);
        assert!(book.book.side(OrderSide::Ask).orders().is_empty());
    }
}
