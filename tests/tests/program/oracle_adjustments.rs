//! The oracle EMA and the circuit breaker at the edges issue 13 (item 7) found: a gap after a
//! quiet period, and a move across the breaker's window boundary (DESIGN.md §6, §11).

use perps::error::PerpsError;
use perps::state::MarketParams;
use perps_client::{instructions as ix, OrderSide, OrderType, PlaceOrderArgs};
use perps_tests::*;

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
