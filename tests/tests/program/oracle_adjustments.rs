//! The oracle EMA and the circuit breaker at the edges issue 13 (item 7) found: a gap after a
//! quiet period, and a move across the breaker's window boundary (DESIGN.md §6, §11).

use perps::error::PerpsError;
use perps::state::MarketParams;
use perps_client::{instructions as ix, OrderSide, OrderType, PlaceOrderArgs};
use perps_testkit::*;

fn post(side: OrderSide, price: u64, lots: u64) -> PlaceOrderArgs {
    order(side, price, lots, OrderType::PostOnly)
}

#[tokio::test]
async fn a_gap_after_a_quiet_period_still_raises_initial_margin() {
    let mut ctx = TestContext::with_exchange().await;
    let params = MarketParams {
        volatility_sensitivity_ppm: 10_000_000,
        max_volatility_factor_ppm: 3_000_000,
        oracle_ema_period_secs: 300,
        ..default_params()
    };
    let m = ctx.create_market_with(params, btc(60_000)).await;
    let bob = ctx.funded_position(&m, 100 * USDC, 0).await;
    // Bob's first order is the market's first price observation: the EMA starts at 60.
    ctx.place(&m, &bob, post(OrderSide::Bid, 59 * USDC, 1))
        .await
        .unwrap();
    ctx.send(
        &[ix::cancel_all_orders(&bob.pubkey(), &m.keys())],
        &[&bob.keypair],
    )
    .await
    .unwrap();
    assert_eq!(ctx.market(&m.market).await.oracle_ema, 60 * USDC);
    // One quiet EMA period (300 s), then the oracle gaps 10% to 66. The EMA keeps e^−1 of the
    // gap: 63.792723 (it used to jump all the way to 66, leaving the factor at 1 exactly at the
    // gap). The oracle is 3.4601% over it: the factor is 1 + 10 · 3.4601% = 1.34601, the first
    // tier's 1% becomes 1.3461%.
    ctx.advance_clock(300).await;
    ctx.set_price(&m.oracle, btc(66_000), 0).await.unwrap();
    // 150 lots (9,900 USDC at 66) need 133.2639 USDC, not 99: refused.
    assert_perps_error(
        ctx.place(&m, &bob, post(OrderSide::Bid, 65 * USDC, 150))
            .await,
        PerpsError::InsufficientMargin,
    );
    // 100 lots need 88.8426 USDC.
    ctx.place(&m, &bob, post(OrderSide::Bid, 65 * USDC, 100))
        .await
        .unwrap();
    assert_eq!(ctx.market(&m.market).await.oracle_ema, 63_792_723);
}

#[tokio::test]
async fn a_move_across_the_breakers_window_boundary_trips_it() {
    let mut ctx = TestContext::with_exchange().await;
    let params = MarketParams {
        breaker_move_ppm: 100_000,
        breaker_window_secs: 60,
        breaker_cooldown_secs: 300,
        ..default_params()
    };
    let m = ctx.create_market_with(params, btc(60_000)).await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    // The trade observes 60 at t: the window's reference.
    ctx.cross(&m, &alice, &bob, OrderSide::Bid, 60 * USDC, 10)
        .await;
    let start = ctx.clock().await.unix_timestamp;
    // Still 60 at t + 58: nothing.
    ctx.advance_clock(58).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    ctx.withdraw(&m, &alice, USDC).await.unwrap();
    // 53.40 at t + 61, 11% down in three seconds. The window that began at t is over, and one
    // that started afresh at 53.40 would never see the move; the new window keeps the old
    // reference and trips.
    ctx.advance_clock(3).await;
    ctx.set_price(&m.oracle, btc(53_400), 0).await.unwrap();
    ctx.withdraw(&m, &alice, USDC).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.status, perps::state::MarketStatus::ReduceOnly as u8);
    assert_eq!(market.breaker_until, start + 61 + 300);
    // Tripped, the breaker starts a new window at 53.40 with nothing before it.
    assert_eq!(
        (
            market.breaker_reference_price,
            market.breaker_previous_reference,
            market.breaker_window_start
        ),
        (53_400_000, 0, start + 61)
    );
}
