//! A full book side (DESIGN.md §9, issue 13 item 6): the worst order gives way to a better one,
//! so no one can close a side for good.

use perps::error::PerpsError;
use perps_client::{instructions as ix, pda, OrderSide, OrderType, PlaceOrderArgs};
use perps_engine::BOOK_SIDE_CAPACITY;
use perps_testkit::*;

fn post(side: OrderSide, price: u64, lots: u64, client_order_id: u64) -> PlaceOrderArgs {
    PlaceOrderArgs {
        client_order_id,
        ..order(side, price, lots, OrderType::PostOnly)
    }
}

/// Each position's open-order totals against what the book holds for it (DESIGN.md §12.7).
async fn assert_totals_match_the_book(ctx: &mut TestContext, m: &MarketFixture) {
    let book = ctx.order_book(&m.order_book).await;
    for (key, position) in ctx.positions_of(m).await {
        let mine = |orders: &[perps_engine::RestingOrder]| -> (u64, u64) {
            let held = orders.iter().filter(|o| o.maker == key.to_bytes());
            held.fold((0, 0), |(n, lots), o| (n + 1, lots + o.lots))
        };
        let (bids, bid_lots) = mine(book.book.bids.orders());
        let (asks, ask_lots) = mine(book.book.asks.orders());
        assert_eq!(
            (
                position.open_order_count as u64,
                position.open_bid_lots,
                position.open_ask_lots
            ),
            (bids + asks, bid_lots, ask_lots),
            "{key}"
        );
    }
}

#[tokio::test]
async fn a_full_book_side_still_accepts_a_better_order_by_evicting_its_worst() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    // Issue 13: 16 wallets × 32 one-lot bids at 57.00, the lower edge of the 5% band around 60.
    // 32 lots at the oracle need 19.20 USDC of initial margin: 20 USDC a wallet, 320 in all.
    let mut fillers = Vec::new();
    for _ in 0..16 {
        let wallet = ctx.funded_position(&m, 20 * USDC, 0).await;
        for i in 0..32 {
            ctx.place(&m, &wallet, post(OrderSide::Bid, 57_000_000, 1, i))
                .await
                .unwrap();
        }
        fillers.push(wallet);
    }
    let book = ctx.order_book(&m.order_book).await;
    assert_eq!(book.book.bids.orders().len(), BOOK_SIDE_CAPACITY);

    // At 57.00 the resting bids came first: the side is full for that price.
    let newcomer = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    assert_perps_error(
        ctx.place(&m, &newcomer, post(OrderSide::Bid, 57_000_000, 5, 1))
            .await,
        PerpsError::BookFull,
    );
    // One tick better it gets in, given the Position of the order it pushes off.
    let better = post(OrderSide::Bid, 57_010_000, 5, 2);
    let without = ix::place_order(&newcomer.pubkey(), &m.keys(), better, &[]);
    assert_perps_error(
        ctx.send(&[without], &[&newcomer.keypair]).await,
        PerpsError::MissingEvictedAccount,
    );
    let taker = pda::position(&m.market, &newcomer.pubkey());
    let accounts = perps_client::book::order_accounts(&book, &taker, &better);
    let last = pda::position(&m.market, &fillers[15].pubkey());
    assert_eq!(accounts, [last], "the latest bid at 57.00 is the worst");
    let place = ix::place_order(&newcomer.pubkey(), &m.keys(), better, &accounts);
    ctx.send(&[place], &[&newcomer.keypair]).await.unwrap();

    let book = ctx.order_book(&m.order_book).await;
    assert_eq!(book.book.bids.orders().len(), BOOK_SIDE_CAPACITY);
    let best = book.book.bids.best().unwrap();
    assert_eq!(
        (best.maker, best.price, best.lots),
        (taker.to_bytes(), 57_010_000, 5)
    );
    let evicted = ctx.position(&m.market, &fillers[15].pubkey()).await;
    assert_eq!((evicted.open_order_count, evicted.open_bid_lots), (31, 31));
    assert_totals_match_the_book(&mut ctx, &m).await;

    // The evicted wallet bids one tick better again: the worst bid is now its own 31st, which
    // gives way within its own totals (31 orders, 31 lots).
    ctx.place(&m, &fillers[15], post(OrderSide::Bid, 57_020_000, 1, 99))
        .await
        .unwrap();
    let again = ctx.position(&m.market, &fillers[15].pubkey()).await;
    assert_eq!((again.open_order_count, again.open_bid_lots), (31, 31));
    assert_totals_match_the_book(&mut ctx, &m).await;
    ctx.assert_vault_matches_positions(&m).await;
}
