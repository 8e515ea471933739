//! Trading through the on-chain book: matching, settlement, fees, order types, margin and funding.

use perps::error::PerpsError;
use perps::state::MarketStatus;
use perps_client::events::PerpsEvent;
use perps_client::{instructions as ix, pda, CancelBy, OrderSide, OrderType, PlaceOrderArgs};
use perps_testkit::*;
use solana_compute_budget_interface::ComputeBudgetInstruction;

/// 60,000 USDC per BTC is 60 USDC per 0.001-BTC lot.
const P: u64 = 60 * USDC;
const TICK: u64 = 10_000;

fn limit(side: OrderSide, price: u64, lots: u64) -> PlaceOrderArgs {
    order(side, price, lots, OrderType::Limit)
}

async fn market_with_traders(
    n: usize,
    collateral: u64,
) -> (TestContext, MarketFixture, Vec<Wallet>) {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let mut traders = Vec::new();
    for _ in 0..n {
        traders.push(ctx.funded_position(&m, collateral, 0).await);
    }
    (ctx, m, traders)
}

#[tokio::test]
async fn two_traders_open_opposite_positions_and_fees_are_split() {
    let (mut ctx, m, t) = market_with_traders(2, 1_000 * USDC).await;
    let (alice, bob) = (&t[0], &t[1]);
    ctx.place(&m, alice, limit(OrderSide::Ask, P, 10))
        .await
        .unwrap();
    let book = ctx.order_book(&m.order_book).await;
    assert_eq!(book.book.asks.orders().len(), 1);
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 10))
        .await
        .unwrap();

    let a = ctx.position(&m.market, &alice.pubkey()).await;
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis), (-10, -600 * USDC as i64));
    assert_eq!((b.base_lots, b.cost_basis), (10, 600 * USDC as i64));
    // 600 USDC notional: taker 5 bps = 0.30 USDC, maker rebate 1 bp = 0.06 USDC.
    assert_eq!(b.collateral, (1_000 * USDC - 300_000) as i64);
    assert_eq!(a.collateral, (1_000 * USDC + 60_000) as i64);
    assert_eq!((a.open_ask_lots, a.open_order_count), (0, 0));
    // The net 0.24 USDC is split half to insurance, half to the treasury.
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 120_000);
    assert_eq!(ctx.token_balance(&m.treasury).await, 120_000);
    let market = ctx.market(&m.market).await;
    assert_eq!(
        (market.open_interest_long, market.open_interest_short),
        (10, 10)
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_taker_fills_across_several_makers_at_several_prices() {
    let (mut ctx, m, t) = market_with_traders(4, 1_000 * USDC).await;
    for (i, maker) in t[..3].iter().enumerate() {
        ctx.place(&m, maker, limit(OrderSide::Ask, P + i as u64 * TICK, 5))
            .await
            .unwrap();
    }
    let sequence = ctx.market(&m.market).await.event_sequence;
    let events = ctx
        .place_with_events(&m, &t[3], limit(OrderSide::Bid, P + 2 * TICK, 12))
        .await
        .unwrap();
    // One `Fill` per maker reached, best price first, then the order's `OrderPlaced`: numbered
    // in a row after the market's last event.
    let fills: Vec<(anchor_lang::prelude::Pubkey, u64, u64)> = events
        .iter()
        .filter_map(|event| match event {
            PerpsEvent::Fill(fill) => Some((fill.maker, fill.price, fill.lots)),
            _ => None,
        })
        .collect();
    let maker = |i: usize| pda::position(&m.market, &t[i].pubkey());
    assert_eq!(
        fills,
        vec![
            (maker(0), P, 5),
            (maker(1), P + TICK, 5),
            (maker(2), P + 2 * TICK, 2)
        ]
    );
    let Some(PerpsEvent::OrderPlaced(placed)) = events.last() else {
        panic!("the order's event comes last");
    };
    assert_eq!((placed.filled, placed.rested, placed.order_id), (12, 0, 0));
    let last = assert_sequenced(&events, &m.market, sequence);
    assert_eq!(last, sequence + 4);
    assert_eq!(ctx.market(&m.market).await.event_sequence, last);
    let taker = ctx.position(&m.market, &t[3].pubkey()).await;
    assert_eq!(taker.base_lots, 12);
    assert_eq!(
        taker.cost_basis as u64,
        5 * P + 5 * (P + TICK) + 2 * (P + 2 * TICK)
    );
    assert_eq!(taker.open_order_count, 0, "fully filled: nothing rests");
    let third = ctx.position(&m.market, &t[2].pubkey()).await;
    assert_eq!(
        (third.base_lots, third.open_ask_lots, third.open_order_count),
        (-2, 3, 1)
    );
    let book = ctx.order_book(&m.order_book).await;
    assert_eq!(
        book.book.asks.best().map(|o| (o.price, o.lots)),
        Some((P + 2 * TICK, 3))
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn immediate_or_cancel_drops_its_remainder_and_limit_rests_it() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    ctx.place(&m, &t[0], limit(OrderSide::Ask, P, 4))
        .await
        .unwrap();
    ctx.place(
        &m,
        &t[1],
        order(OrderSide::Bid, P, 10, OrderType::ImmediateOrCancel),
    )
    .await
    .unwrap();
    let ioc = ctx.position(&m.market, &t[1].pubkey()).await;
    assert_eq!(
        (ioc.base_lots, ioc.open_bid_lots, ioc.open_order_count),
        (4, 0, 0)
    );
    assert!(ctx
        .order_book(&m.order_book)
        .await
        .book
        .bids
        .orders()
        .is_empty());
    ctx.place(&m, &t[0], limit(OrderSide::Ask, P, 4))
        .await
        .unwrap();
    ctx.place(&m, &t[2], limit(OrderSide::Bid, P, 10))
        .await
        .unwrap();
    let rested = ctx.position(&m.market, &t[2].pubkey()).await;
    assert_eq!(
        (
            rested.base_lots,
            rested.open_bid_lots,
            rested.open_order_count
        ),
        (4, 6, 1)
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn post_only_rests_or_is_rejected_when_it_would_cross() {
    let (mut ctx, m, t) = market_with_traders(2, 1_000 * USDC).await;
    ctx.place(&m, &t[0], limit(OrderSide::Ask, P, 4))
        .await
        .unwrap();
    let before = ctx.position(&m.market, &t[1].pubkey()).await;
    let crossing = order(OrderSide::Bid, P, 1, OrderType::PostOnly);
    assert_perps_error(
        ctx.place(&m, &t[1], crossing).await,
        PerpsError::PostOnlyWouldCross,
    );
    assert_eq!(
        ctx.position(&m.market, &t[1].pubkey()).await.collateral,
        before.collateral
    );
    ctx.place(
        &m,
        &t[1],
        order(OrderSide::Bid, P - TICK, 1, OrderType::PostOnly),
    )
    .await
    .unwrap();
    assert_eq!(
        ctx.position(&m.market, &t[1].pubkey()).await.open_bid_lots,
        1
    );
}

#[tokio::test]
async fn reduce_only_never_grows_or_flips_a_position() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    let (maker, bob, carol) = (&t[0], &t[1], &t[2]);
    ctx.place(&m, maker, limit(OrderSide::Ask, P, 10))
        .await
        .unwrap();
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 10))
        .await
        .unwrap();
    // Growing a long with a reduce-only bid is refused.
    let grow = PlaceOrderArgs {
        reduce_only: true,
        ..limit(OrderSide::Bid, P, 1)
    };
    assert_perps_error(
        ctx.place(&m, bob, grow).await,
        PerpsError::ReduceOnlyWouldIncrease,
    );
    // A reduce-only ask for 15 is cut to the 10 held: the position closes, it does not flip.
    ctx.place(&m, carol, limit(OrderSide::Bid, P, 20))
        .await
        .unwrap();
    let close = PlaceOrderArgs {
        reduce_only: true,
        ..limit(OrderSide::Ask, P, 15)
    };
    ctx.place(&m, bob, close).await.unwrap();
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!((b.base_lots, b.open_ask_lots), (0, 0));
    // A flat position has nothing to reduce.
    let flat = PlaceOrderArgs {
        reduce_only: true,
        ..limit(OrderSide::Ask, P, 1)
    };
    assert_perps_error(
        ctx.place(&m, bob, flat).await,
        PerpsError::ReduceOnlyWouldIncrease,
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_resting_reduce_only_order_gives_up_what_would_grow_its_maker() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    let (alice, bob, carol) = (&t[0], &t[1], &t[2]);
    ctx.place(&m, alice, limit(OrderSide::Ask, P, 5))
        .await
        .unwrap();
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 5))
        .await
        .unwrap();
    // Bob rests a reduce-only ask of 5, then closes 3 elsewhere: only 2 are left to reduce.
    ctx.place(
        &m,
        bob,
        PlaceOrderArgs {
            reduce_only: true,
            ..limit(OrderSide::Ask, P + 5 * TICK, 5)
        },
    )
    .await
    .unwrap();
    ctx.place(&m, alice, limit(OrderSide::Bid, P - TICK, 3))
        .await
        .unwrap();
    ctx.place(
        &m,
        bob,
        order(OrderSide::Ask, P - TICK, 3, OrderType::ImmediateOrCancel),
    )
    .await
    .unwrap();
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 2);
    // Carol lifts the reduce-only ask: 2 fill, the other 3 are cancelled, Bob is flat.
    ctx.place(
        &m,
        carol,
        order(
            OrderSide::Bid,
            P + 5 * TICK,
            5,
            OrderType::ImmediateOrCancel,
        ),
    )
    .await
    .unwrap();
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!(
        (b.base_lots, b.open_ask_lots, b.open_order_count),
        (0, 0, 0)
    );
    assert_eq!(ctx.position(&m.market, &carol.pubkey()).await.base_lots, 2);
    assert!(ctx
        .order_book(&m.order_book)
        .await
        .book
        .asks
        .orders()
        .is_empty());
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn self_trade_prevention_cancels_the_resting_order() {
    let (mut ctx, m, t) = market_with_traders(1, 1_000 * USDC).await;
    let alice = &t[0];
    ctx.place(&m, alice, limit(OrderSide::Ask, P, 5))
        .await
        .unwrap();
    ctx.place(&m, alice, limit(OrderSide::Bid, P, 3))
        .await
        .unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!(
        (
            a.base_lots,
            a.open_ask_lots,
            a.open_bid_lots,
            a.open_order_count
        ),
        (0, 0, 3, 1)
    );
    let book = ctx.order_book(&m.order_book).await;
    assert!(book.book.asks.orders().is_empty());
    assert_eq!(book.book.bids.best().map(|o| o.lots), Some(3));
}

#[tokio::test]
async fn orders_outside_the_band_off_tick_or_beyond_margin_are_rejected() {
    let (mut ctx, m, t) = market_with_traders(2, 100 * USDC).await;
    let bob = &t[1];
    // 5% band around 60: 63 is the edge, 63.01 is out.
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Bid, 63 * USDC + TICK, 1))
            .await,
        PerpsError::PriceOutsideBand,
    );
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Ask, 57 * USDC - TICK, 1))
            .await,
        PerpsError::PriceOutsideBand,
    );
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Bid, P + 1, 1)).await,
        PerpsError::InvalidPrice,
    );
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Bid, P, 0)).await,
        PerpsError::ZeroAmount,
    );
    // 100 USDC covers 1% of at most 10,000 USDC: 166 lots (9,960 USDC) rest, 200 lots
    // (12,000 USDC, 2% tier: 240 USDC) do not.
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Bid, P, 200)).await,
        PerpsError::InsufficientMargin,
    );
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 166))
        .await
        .unwrap();
    assert_perps_error(
        ctx.place(&m, bob, limit(OrderSide::Bid, P, 1)).await,
        PerpsError::InsufficientMargin,
    );
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!(
        (b.open_bid_lots, b.open_order_count, b.collateral),
        (166, 1, 100 * USDC as i64)
    );
}

#[tokio::test]
async fn a_full_book_side_rejects_another_order_by_name() {
    // 16 makers with the most resting orders a position may have (32) fill the bid side, eight
    // orders a transaction (nothing crosses, so no maker accounts are needed).
    let (mut ctx, m, t) = market_with_traders(17, 10_000 * USDC).await;
    for (k, maker) in t[..16].iter().enumerate() {
        for batch in 0..4u64 {
            let orders: Vec<_> = (0..8u64)
                .map(|i| {
                    let n = k as u64 * 32 + batch * 8 + i;
                    let args = PlaceOrderArgs {
                        client_order_id: n,
                        ..limit(OrderSide::Bid, P - (n % 100) * TICK, 1)
                    };
                    ix::place_order(&maker.pubkey(), &m.keys(), args, &[])
                })
                .collect();
            ctx.send(&orders, &[&maker.keypair]).await.unwrap();
        }
    }
    assert_eq!(
        ctx.order_book(&m.order_book).await.book.bids.orders().len(),
        perps_engine::BOOK_SIDE_CAPACITY
    );
    // At the worst price on the side (59.01) the resting orders came first: refused. A better
    // price evicts the worst order (book_full.rs), given its maker's Position, which the
    // harness's maker list does not carry.
    let late = &t[16];
    assert_perps_error(
        ctx.place(&m, late, limit(OrderSide::Bid, P - 99 * TICK, 1))
            .await,
        PerpsError::BookFull,
    );
    assert_perps_error(
        ctx.place(&m, late, limit(OrderSide::Bid, P, 1)).await,
        PerpsError::MissingEvictedAccount,
    );
    let l = ctx.position(&m.market, &late.pubkey()).await;
    assert_eq!((l.open_bid_lots, l.open_order_count), (0, 0));
    // The other side still takes orders; a 33rd order of one position does not rest.
    ctx.place(&m, late, limit(OrderSide::Ask, P + TICK, 1))
        .await
        .unwrap();
    assert_perps_error(
        ctx.place(&m, &t[0], limit(OrderSide::Ask, P + TICK, 1))
            .await,
        PerpsError::TooManyOrders,
    );
}

#[tokio::test]
async fn a_maker_order_that_would_leave_its_maker_under_water_is_cancelled_not_filled() {
    let (mut ctx, m, t) = market_with_traders(2, 100 * USDC).await;
    let (alice, bob) = (&t[0], &t[1]);
    // Alice bids 166 lots at 63, 5% above the oracle: 100 USDC covers 1% of the notional at 60.
    ctx.place(
        &m,
        alice,
        PlaceOrderArgs {
            order_type: OrderType::PostOnly,
            ..limit(OrderSide::Bid, 63 * USDC, 166)
        },
    )
    .await
    .unwrap();
    // Filling it would cost Alice 3 USDC a lot: 498 USDC, far more than she has. It is cancelled.
    ctx.place(
        &m,
        bob,
        order(OrderSide::Ask, 63 * USDC, 166, OrderType::ImmediateOrCancel),
    )
    .await
    .unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!(
        (a.base_lots, a.open_bid_lots, a.open_order_count),
        (0, 0, 0)
    );
    assert_eq!(b.base_lots, 0);
    assert!(ctx
        .order_book(&m.order_book)
        .await
        .book
        .bids
        .orders()
        .is_empty());
    // A resting order left outside the band by a price move is cancelled when reached, too.
    ctx.place(
        &m,
        alice,
        PlaceOrderArgs {
            order_type: OrderType::PostOnly,
            ..limit(OrderSide::Bid, P, 1)
        },
    )
    .await
    .unwrap();
    ctx.set_price(&m.oracle, btc(56_000), 0).await.unwrap();
    ctx.place(
        &m,
        bob,
        order(OrderSide::Ask, 58_800_000, 1, OrderType::ImmediateOrCancel),
    )
    .await
    .unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey())
            .await
            .open_order_count,
        0
    );
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 0);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn orders_are_cancelled_by_id_by_client_id_and_all_at_once() {
    let (mut ctx, m, t) = market_with_traders(2, 1_000 * USDC).await;
    let alice = &t[0];
    for (i, price) in [P - TICK, P - 2 * TICK, P - 3 * TICK]
        .into_iter()
        .enumerate()
    {
        let args = PlaceOrderArgs {
            client_order_id: 100 + i as u64,
            ..limit(OrderSide::Bid, price, 2)
        };
        ctx.place(&m, alice, args).await.unwrap();
    }
    ctx.place(&m, alice, limit(OrderSide::Ask, P + TICK, 7))
        .await
        .unwrap();
    let first_id = ctx
        .order_book(&m.order_book)
        .await
        .book
        .bids
        .best()
        .unwrap()
        .order_id;
    let cancel = |by| ix::cancel_order(&alice.pubkey(), &m.keys(), by);
    ctx.send(&[cancel(CancelBy::OrderId(first_id))], &[&alice.keypair])
        .await
        .unwrap();
    ctx.send(&[cancel(CancelBy::ClientOrderId(101))], &[&alice.keypair])
        .await
        .unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!(
        (a.open_bid_lots, a.open_ask_lots, a.open_order_count),
        (2, 7, 2)
    );
    assert_eq!(
        ctx.order_book(&m.order_book)
            .await
            .book
            .bids
            .best()
            .map(|o| o.client_order_id),
        Some(102)
    );
    // Unknown ids, and another trader's ids, are not found.
    assert_perps_error(
        ctx.send(&[cancel(CancelBy::OrderId(first_id))], &[&alice.keypair])
            .await,
        PerpsError::OrderNotFound,
    );
    let bob = &t[1];
    let bobs = ix::cancel_order(&bob.pubkey(), &m.keys(), CancelBy::ClientOrderId(102));
    assert_perps_error(
        ctx.send(&[bobs], &[&bob.keypair]).await,
        PerpsError::OrderNotFound,
    );
    ctx.send(
        &[ix::cancel_all_orders(&alice.pubkey(), &m.keys())],
        &[&alice.keypair],
    )
    .await
    .unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!(
        (a.open_bid_lots, a.open_ask_lots, a.open_order_count),
        (0, 0, 0)
    );
    let book = ctx.order_book(&m.order_book).await;
    assert!(book.book.bids.orders().is_empty() && book.book.asks.orders().is_empty());
}

#[tokio::test]
async fn a_missing_maker_stops_matching_a_limit_fails_and_an_ioc_keeps_what_filled() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    ctx.place(&m, &t[0], limit(OrderSide::Ask, P, 2))
        .await
        .unwrap();
    ctx.place(&m, &t[1], limit(OrderSide::Ask, P + TICK, 2))
        .await
        .unwrap();
    let maker0 = pda::position(&m.market, &t[0].pubkey());
    let taker = &t[2];
    // Only the first maker is supplied: a limit whose remainder would cross cannot rest.
    let limit_ix = ix::place_order(
        &taker.pubkey(),
        &m.keys(),
        limit(OrderSide::Bid, P + TICK, 4),
        &[maker0],
    );
    assert_perps_error(
        ctx.send(&[limit_ix], &[&taker.keypair]).await,
        PerpsError::MissingMakerAccount,
    );
    assert_eq!(ctx.position(&m.market, &taker.pubkey()).await.base_lots, 0);
    let ioc = ix::place_order(
        &taker.pubkey(),
        &m.keys(),
        order(OrderSide::Bid, P + TICK, 4, OrderType::ImmediateOrCancel),
        &[maker0],
    );
    ctx.send(&[ioc], &[&taker.keypair]).await.unwrap();
    assert_eq!(ctx.position(&m.market, &taker.pubkey()).await.base_lots, 2);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn trading_instructions_refuse_wrong_books_signers_and_paused_markets() {
    let (mut ctx, m, t) = market_with_traders(2, 1_000 * USDC).await;
    let other = ctx.create_market().await;
    let alice = &t[0];
    let wrong_book = ix::with_account(
        ix::place_order(&alice.pubkey(), &m.keys(), limit(OrderSide::Bid, P, 1), &[]),
        &m.order_book,
        &other.order_book,
    );
    assert_perps_error(
        ctx.send(&[wrong_book], &[&alice.keypair]).await,
        PerpsError::WrongOrderBook,
    );
    let mallory = &t[1];
    let forged = ix::with_account(
        ix::place_order(
            &mallory.pubkey(),
            &m.keys(),
            limit(OrderSide::Bid, P, 1),
            &[],
        ),
        &pda::position(&m.market, &mallory.pubkey()),
        &pda::position(&m.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[forged], &[&mallory.keypair]).await,
        PerpsError::Unauthorized,
    );
    ctx.set_status(&m, MarketStatus::Paused).await.unwrap();
    assert_perps_error(
        ctx.place(&m, alice, limit(OrderSide::Bid, P, 1)).await,
        PerpsError::MarketPaused,
    );
    assert!(ctx
        .order_book(&m.order_book)
        .await
        .book
        .bids
        .orders()
        .is_empty());
}

#[tokio::test]
async fn funding_moves_collateral_from_longs_to_shorts_when_the_book_trades_above_the_oracle() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    let (alice, bob, carol) = (&t[0], &t[1], &t[2]);
    ctx.place(&m, alice, limit(OrderSide::Ask, P, 10))
        .await
        .unwrap();
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 10))
        .await
        .unwrap();
    // Carol bids 340 lots at 60.12 around an oracle of 60.00 for the whole hour: a seller of
    // the 20,000 USDC impact notional gets 0.2% over the oracle (DESIGN.md §10), capped at the
    // market's 0.1% per hour.
    ctx.place(&m, carol, limit(OrderSide::Bid, P + 12 * TICK, 340))
        .await
        .unwrap();
    assert_perps_error(
        ctx.send(&[ix::crank_funding(&m.keys())], &[]).await,
        PerpsError::FundingNotDue,
    );
    let before = ctx.collaterals(&m, &[alice, bob, carol]).await;
    ctx.advance_clock(3_600).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.last_funding_rate_ppm, 1_000);
    // 0.1% of 60 USDC per lot = 0.06 USDC per lot.
    assert_eq!(market.funding_index, 60_000 * 1_000_000);
    ctx.assert_vault_matches_positions(&m).await;
    ctx.settle_all_funding(&m).await;
    let after = ctx.collaterals(&m, &[alice, bob, carol]).await;
    // The 10-lot long pays 0.60 USDC to the 10-lot short; Carol is flat and pays nothing.
    assert_eq!(after[1] - before[1], -600_000);
    assert_eq!(after[0] - before[0], 600_000);
    assert_eq!(after[2], before[2]);
    let moved: i64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
    assert_eq!(moved, 0, "funding is zero-sum");
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn funding_rounding_goes_to_the_insurance_vault() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    let (alice, bob, carol) = (&t[0], &t[1], &t[2]);
    ctx.place(&m, alice, limit(OrderSide::Ask, P, 3))
        .await
        .unwrap();
    ctx.place(&m, bob, limit(OrderSide::Bid, P, 1))
        .await
        .unwrap();
    ctx.place(&m, carol, limit(OrderSide::Bid, P, 2))
        .await
        .unwrap();
    ctx.place(&m, carol, limit(OrderSide::Bid, P + 12 * TICK, 340))
        .await
        .unwrap();
    // Carol's 340 lots bid at 60.12 all hour: the impact premium (about 2,000 ppm) is capped to
    // 1,000. A late crank (3,601 s) accrues one interval; an oracle of 60,000.01 USDC per BTC
    // makes the lot price 60,000,010 atoms, so the premium (capped at 0.1%) moves 60,000.01
    // atoms per lot.
    ctx.advance_clock(3_601).await;
    ctx.set_price(&m.oracle, btc(60_000) + 1_000_000, 0)
        .await
        .unwrap();
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    let index = ctx.market(&m.market).await.funding_index;
    assert_eq!(index, 1_000 * 60_000_010);
    let insurance_before = ctx.token_balance(&m.insurance_vault).await;
    ctx.settle_all_funding(&m).await;
    let residue = ctx.market(&m.market).await.funding_residue;
    // Bob (1 lot) pays 60,001, Carol (2) pays 120,001 and Alice (−3) receives 180,000: the
    // 0.99 + 0.98 + 0.03 atoms of rounding are 2 whole atoms of residue.
    assert_eq!(residue, 2_000_000);
    ctx.assert_vault_matches_positions(&m).await;
    ctx.advance_clock(3_600).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance_before + 2
    );
    assert_eq!(ctx.market(&m.market).await.funding_residue, 0);
}

#[tokio::test]
async fn a_reduce_only_market_accepts_only_orders_that_shrink_positions() {
    let (mut ctx, m, t) = market_with_traders(3, 1_000 * USDC).await;
    let (alice, bob, carol) = (&t[0], &t[1], &t[2]);
    ctx.cross(&m, alice, bob, OrderSide::Bid, P, 10).await;
    ctx.set_status(&m, MarketStatus::ReduceOnly).await.unwrap();
    // Carol is flat: any order would open risk.
    assert_perps_error(
        ctx.place(&m, carol, limit(OrderSide::Bid, P, 1)).await,
        PerpsError::ReduceOnlyWouldIncrease,
    );
    // Alice is short 10: her bid is treated as reduce-only and cut to 10; Bob sells 4 into it.
    ctx.place(&m, alice, limit(OrderSide::Bid, P, 25))
        .await
        .unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.open_bid_lots,
        10
    );
    ctx.place(
        &m,
        bob,
        order(OrderSide::Ask, P, 4, OrderType::ImmediateOrCancel),
    )
    .await
    .unwrap();
    assert_eq!(ctx.position(&m.market, &alice.pubkey()).await.base_lots, -6);
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 6);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_taker_sweeping_more_orders_than_a_transaction_has_instruction_slots_lands_with_all_its_events(
) {
    // Three makers rest 32 one-lot asks each, one tick apart; a taker lifts all 96. Solana allows
    // 64 instructions (CPIs included) in a transaction's trace: one self-CPI per event would fail
    // here, so the events go out as batches, in the order they happened.
    let (mut ctx, m, t) = market_with_traders(4, 10_000 * USDC).await;
    for (i, maker) in t[..3].iter().enumerate() {
        for level in 0..32u64 {
            let price = P + (i as u64 * 32 + level) * TICK;
            ctx.place(
                &m,
                maker,
                order(OrderSide::Ask, price, 1, OrderType::PostOnly),
            )
            .await
            .unwrap();
        }
    }
    let sequence = ctx.market(&m.market).await.event_sequence;
    // On SBF, 96 fills take more than the 200k compute units and the 32 KiB heap a transaction
    // gets by default (README, "Compute units"): the taker asks for both.
    let order = ctx
        .order(&m, &t[3], limit(OrderSide::Bid, P + 95 * TICK, 96))
        .await;
    let compute = ComputeBudgetInstruction::set_compute_unit_limit(1_400_000);
    let heap = ComputeBudgetInstruction::request_heap_frame(64 * 1024);
    let events = ctx
        .send_with_events(&[compute, heap, order], &[&t[3].keypair])
        .await
        .unwrap();
    let prices: Vec<u64> = events
        .iter()
        .filter_map(|event| match event {
            PerpsEvent::Fill(fill) => Some(fill.price),
            _ => None,
        })
        .collect();
    assert_eq!(
        prices,
        (0..96).map(|level| P + level * TICK).collect::<Vec<_>>()
    );
    assert_eq!(
        assert_sequenced(&events, &m.market, sequence),
        sequence + 97
    );
    assert_eq!(ctx.position(&m.market, &t[3].pubkey()).await.base_lots, 96);
    ctx.assert_vault_matches_positions(&m).await;
}
