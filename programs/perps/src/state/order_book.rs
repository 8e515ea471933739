use anchor_lang::prelude::*;
use perps_engine::Book;

/// A market's order book: zero-copy and too large for a CPI create, so the client creates the
/// account and `initialize_order_book` adopts it (DESIGN.md §4).
#[account(zero_copy)]
pub struct OrderBook {
    pub market: Pubkey,
    pub book: Book,
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
