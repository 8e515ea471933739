//! Reading the order book off-chain: which makers a taker order will reach.

use anchor_lang::prelude::Pubkey;
use perps::state::OrderBook;
use perps_engine::{OrderSide, Price};

/// The distinct maker Position accounts a taker order on `side` at `limit` for `lots` reaches,
/// in the order matching meets them, skipping the taker's own orders (self-trade prevention
/// cancels those instead of filling them).
pub fn makers_in_reach(
    book: &OrderBook,
    taker: &Pubkey,
    side: OrderSide,
    limit: Price,
    lots: u64,
) -> Vec<Pubkey> {
    let mut makers: Vec<Pubkey> = Vec::new();
    let mut left = lots;
    let resting = book.book.side(side.opposite()).orders();
    for order in resting.iter().rev() {
        if left == 0 || !side.crosses(limit, Price(order.price)) {
            break;
        }
        let maker = Pubkey::new_from_array(order.maker);
        if maker == *taker {
            continue;
        }
        left = left.saturating_sub(order.lots);
        if !makers.contains(&maker) {
            makers.push(maker);
        }
    }
    makers
}
