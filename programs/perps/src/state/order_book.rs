use anchor_lang::prelude::*;
use perps_engine::Book;

/// A market's order book: zero-copy and too large for a CPI create, so the client creates the
/// account and `initialize_order_book` adopts it (DESIGN.md §4).
#[account(zero_copy)]
pub struct OrderBook {
    pub market: Pubkey,
    pub book: Book,
}
