//! Funding's mark (DESIGN.md §10, issue 13 item 5): the book's impact premium over the oracle,
//! time-weighted since the last crank. Quotes posted and cancelled around a crank, in one
//! transaction or back to back, move the rate by at most what resting liquidity supports.

use perps::state::MarketParams;
use perps_client::{instructions as ix, OrderSide, OrderType, PlaceOrderArgs};
use perps_testkit::*;

/// 60,000 USDC per BTC is 60 USDC per 0.001-BTC lot.
const P: u64 = 60 * USDC;
const HOUR: i64 = 3_600;

fn post(side: OrderSide, price: u64, lots: u64) -> PlaceOrderArgs {
    order(side, price, lots, OrderType::PostOnly)
}

/// A market whose funding cap (1% an hour) is above the premiums below, so the rate shows
/// them unclamped; Alice long 10 and Bob short 10 at 60 (so there is someone to pay), and Eve,
/// the attacker, with 1,000 USDC.
async fn market() -> (TestContext, MarketFixture, Wallet, Wallet, Wallet) {
    let mut ctx = TestContext::with_exchange().await;
    let params = MarketParams {
        max_funding_rate_ppm: 10_000,
        ..default_params()
    };
    let m = ctx.create_market_with(params, btc(60_000)).await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let eve = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    ctx.cross(&m, &bob, &alice, OrderSide::Bid, P, 10).await;
    (ctx, m, alice, bob, eve)
}

/// The funding interval has passed and the oracle is fresh at 60,000.
async fn an_hour_later(ctx: &mut TestContext, m: &MarketFixture) {
    ctx.advance_clock(HOUR).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
}

#[tokio::test]
async fn one_lot_quotes_placed_cranked_and_cancelled_in_one_transaction_move_no_funding() {
    let (mut ctx, m, alice, bob, eve) = market().await;
    an_hour_later(&mut ctx, &m).await;
    let before = ctx.collaterals(&m, &[&alice, &bob]).await;
    // Issue 13: 1-lot quotes at 62.90 / 63.00 around an oracle of 60, a crank, a cancel. With
    // the book's mid as the mark (62.95, 4.9% over the oracle) this set the rate to its cap.
    let owner = eve.pubkey();
    let attack = [
        ix::place_order(&owner, &m.keys(), post(OrderSide::Bid, 62_900_000, 1), &[]),
        ix::place_order(&owner, &m.keys(), post(OrderSide::Ask, 63_000_000, 1), &[]),
        ix::crank_funding(&m.keys()),
        ix::cancel_all_orders(&owner, &m.keys()),
    ];
    ctx.send(&attack, &[&eve.keypair]).await.unwrap();
    let market = ctx.market(&m.market).await;
    // The quotes lived no time, and 1 lot is 62.90 of a 20,000 USDC impact notional anyway.
    assert_eq!((market.last_funding_rate_ppm, market.funding_index), (0, 0));
    assert_eq!(market.funding_premium_ppm, 0, "the cancel took them off");
    ctx.settle_all_funding(&m).await;
    assert_eq!(ctx.collaterals(&m, &[&alice, &bob]).await, before);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn impact_size_quotes_around_a_crank_move_no_funding_in_one_transaction_or_back_to_back() {
    let (mut ctx, m, _alice, _bob, eve) = market().await;
    an_hour_later(&mut ctx, &m).await;
    // 400 lots bid at 62.90: 25,160 USDC, over the impact notional, 48,333 ppm over the oracle.
    let owner = eve.pubkey();
    let quote = ix::place_order(
        &owner,
        &m.keys(),
        post(OrderSide::Bid, 62_900_000, 400),
        &[],
    );
    let cancel = ix::cancel_all_orders(&owner, &m.keys());
    ctx.send(
        &[quote.clone(), ix::crank_funding(&m.keys()), cancel.clone()],
        &[&eve.keypair],
    )
    .await
    .unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!((market.last_funding_rate_ppm, market.funding_index), (0, 0));

    // Back to back, as three transactions in the same second: the same.
    an_hour_later(&mut ctx, &m).await;
    ctx.send(&[quote], &[&eve.keypair]).await.unwrap();
    assert_eq!(ctx.market(&m.market).await.funding_premium_ppm, 48_333);
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    ctx.send(&[cancel], &[&eve.keypair]).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!((market.last_funding_rate_ppm, market.funding_index), (0, 0));
    assert_eq!(market.funding_premium_ppm, 0);
}

#[tokio::test]
async fn resting_liquidity_moves_the_rate_by_its_premium_times_the_share_of_the_hour_it_rested() {
    let (mut ctx, m, alice, bob, eve) = market().await;
    // Eve's 400 lots bid at 60.12 rest the whole hour: the impact bid is 60.12 (a seller of
    // 20,000 USDC gets 0.2% over the oracle all hour), so longs pay 2,000 ppm.
    ctx.place(&m, &eve, post(OrderSide::Bid, 60_120_000, 400))
        .await
        .unwrap();
    an_hour_later(&mut ctx, &m).await;
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.last_funding_rate_ppm, 2_000);
    // 0.2% of 60 USDC a lot, in millionths of an atom.
    assert_eq!(market.funding_index, 120_000 * 1_000_000);
    // The next hour it is cancelled after 900 s: a quarter of the hour at 2,000 ppm.
    ctx.advance_clock(900).await;
    ctx.send(
        &[ix::cancel_all_orders(&eve.pubkey(), &m.keys())],
        &[&eve.keypair],
    )
    .await
    .unwrap();
    ctx.advance_clock(HOUR - 900).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    let before = ctx.collaterals(&m, &[&alice, &bob]).await;
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.last_funding_rate_ppm, 500);
    assert_eq!(market.funding_index, (120_000 + 30_000) * 1_000_000);
    ctx.settle_all_funding(&m).await;
    let after = ctx.collaterals(&m, &[&alice, &bob]).await;
    // Alice, long 10, pays 10 · 0.03 USDC for the second hour (and 10 · 0.12 for the first);
    // Bob, short 10, receives as much.
    assert_eq!(after[0] - before[0], -10 * 150_000);
    assert_eq!(after[1] - before[1], 10 * 150_000);
    ctx.assert_vault_matches_positions(&m).await;
}
