//! Reading the order book off-chain: which makers a taker order will reach.

use anchor_lang::prelude::Pubkey;
use perps::{
    instructions::PlaceOrderArgs,
    state::{OrderBook, OrderType},
};
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

/// The Position of the resting order that an order at `price` on `side` would push off its full
/// book side (DESIGN.md §9): `place_order` needs it writable to release that maker's totals.
pub fn evictee(book: &OrderBook, side: OrderSide, price: Price) -> Option<Pubkey> {
    book.book
        .evictee(side, price)
        .map(|order| Pubkey::new_from_array(order.maker))
}

/// Every Position account `place_order` may need for `args` from `taker`: the makers in reach
/// (`makers_in_reach`), then the maker of the order it would evict if its side is full.
pub fn order_accounts(book: &OrderBook, taker: &Pubkey, args: &PlaceOrderArgs) -> Vec<Pubkey> {
    let side = OrderSide::from(args.side);
    let price = Price(args.price);
    let mut accounts = makers_in_reach(book, taker, side, price, args.lots);
    if args.order_type != OrderType::ImmediateOrCancel {
        if let Some(maker) = evictee(book, side, price) {
            if maker != *taker && !accounts.contains(&maker) {
                accounts.push(maker);
            }
        }
    }
    accounts
}
