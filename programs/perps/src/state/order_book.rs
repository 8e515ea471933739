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

impl OrderBook {
    /// Removes every resting order of `position` (the account at `key`) and forgets them in its
    /// open-order totals; returns what was removed.
    pub fn cancel_all_of(
        &mut self,
        key: &Pubkey,
        position: &mut crate::state::Position,
    ) -> Result<perps_engine::book::CancelledTotals> {
        let totals = self.book.cancel_all(&key.to_bytes());
        position.remove_open_orders(perps_engine::OrderSide::Bid, totals.bid_lots.0, 0)?;
        position.remove_open_orders(
            perps_engine::OrderSide::Ask,
            totals.ask_lots.0,
            totals.orders,
        )?;
        Ok(totals)
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
        let totals = book.cancel_all_of(&key, &mut position).unwrap();
        assert_eq!(
            (totals.orders, totals.bid_lots.0, totals.ask_lots.0),
            (3, 3, 9)
        );
        assert!(!position.has_open_orders());
        assert_eq!(book.book.side(OrderSide::Bid).orders().len(), 1);
        assert!(book.book.side(OrderSide::Ask).orders().is_empty());
    }
}
