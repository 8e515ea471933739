//! Liquidation, bankruptcy against the insurance vault, the ADL-pending state, and the
//! adjustments that keep a market away from ADL: volatility-scaled margin, the circuit breaker
//! and the open-interest cap.

use perps::error::PerpsError;
use perps::state::{MarketParams, MarketStatus};
use perps_client::events::PerpsEvent;
use perps_client::{instructions as ix, pda, OrderSide, OrderType, PlaceOrderArgs};
use perps_testkit::*;
use solana_signer::Signer;

const P: u64 = 60 * USDC;

fn ioc(side: OrderSide, price: u64, lots: u64) -> PlaceOrderArgs {
    order(side, price, lots, OrderType::ImmediateOrCancel)
}

#[tokio::test]
async fn a_partial_liquidation_transfers_the_fewest_lots_that_restore_margin() {
    // 1 BTC long from 60,000 with 6,000 USDC; at 54,500 equity is 500 < MM 545.
    let (mut ctx, m, alice, _bob, carol) = leveraged_long(1_000, 6_000 * USDC).await;
    ctx.set_price(&m.oracle, btc(54_500), 0).await.unwrap();
    let insurance_before = ctx.token_balance(&m.insurance_vault).await;
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    // The engine's worked example: 229 lots at 54.391 USDC, 12.4805 USDC to insurance.
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    let c = ctx.position(&m.market, &carol.pubkey()).await;
    assert_eq!(a.base_lots, 771);
    assert_eq!((c.base_lots, c.cost_basis), (229, 229 * 54_391_000));
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance_before + 12_480_500
    );
    // Alice's equity: 500 − 229 · 0.109 − 12.4805 = 462.5585 USDC, above 1.1 · MM.
    let equity = a.collateral as i128 + 771 * 54_500_000 - a.cost_basis as i128;
    assert_eq!(equity, 462_558_500);
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::NotLiquidatable,
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_bankrupt_position_is_closed_and_the_insurance_vault_pays_its_deficit() {
    // 100 lots long from 60 with 100 USDC; at 58 equity is −100.
    let (mut ctx, m, alice, _bob, carol) = leveraged_long(100, 100 * USDC).await;
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    ctx.set_price(&m.oracle, btc(58_000), 0).await.unwrap();
    let insurance_before = ctx.token_balance(&m.insurance_vault).await;
    let sequence = ctx.market(&m.market).await.event_sequence;
    let target = pda::position(&m.market, &alice.pubkey());
    let events = ctx
        .send_with_events(
            &[ix::liquidate(&carol.pubkey(), &m.keys(), &target)],
            &[&carol.keypair],
        )
        .await
        .unwrap();
    // Bankrupt at the oracle, it is taken over at 58 (not at the discounted 57.884): the vault
    // pays its negative equity, 100 USDC, and never the liquidator's discount (DESIGN.md §7).
    // The events say so, numbered in a row: the liquidation, then the vault's payment.
    match &events[..] {
        [PerpsEvent::Liquidation(liquidation), PerpsEvent::Bankruptcy(bankruptcy)] => {
            assert_eq!(
                (liquidation.position, liquidation.lots, liquidation.price),
                (target, 100, 58 * USDC)
            );
            assert!(liquidation.full);
            assert_eq!(
                (
                    bankruptcy.deficit,
                    bankruptcy.paid_by_insurance,
                    bankruptcy.left_for_adl
                ),
                (100 * USDC, 100 * USDC, 0)
            );
        }
        _ => panic!(
            "{} events, not a liquidation and a bankruptcy",
            events.len()
        ),
    }
    assert_eq!(assert_sequenced(&events, &m.market, sequence), sequence + 2);
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));
    assert_eq!(
        ctx.position(&m.market, &carol.pubkey()).await.cost_basis,
        100 * 58_000_000
    );
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance_before - 100 * USDC
    );
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_short_vault_pays_what_it_holds_above_its_floor_and_the_adl_book_takes_the_position_over()
{
    let (mut ctx, m, alice, bob, carol) = leveraged_long(100, 100 * USDC).await;
    let mut params = default_params();
    params.insurance_floor = 10 * USDC;
    ctx.update_params(&m, params).await.unwrap();
    ctx.fund_insurance(&m, 50 * USDC).await;
    let vault = ctx.token_balance(&m.insurance_vault).await;
    let paid = vault - 10 * USDC;
    // Bob offers one more lot before the crash.
    let offer = PlaceOrderArgs {
        order_type: OrderType::PostOnly,
        ..ioc(OrderSide::Ask, P, 1)
    };
    ctx.place(&m, &bob, offer).await.unwrap();
    ctx.set_price(&m.oracle, btc(58_000), 0).await.unwrap();
    let before = ctx.position(&m.market, &alice.pubkey()).await;
    ctx.liquidate(&m, &carol, &alice).await.unwrap();

    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        10 * USDC,
        "down to the floor"
    );
    // The market's ADL book took Alice's position over whole, with the vault's payment: she is
    // left empty, and Carol took nothing.
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));
    assert_eq!(ctx.position(&m.market, &carol.pubkey()).await.base_lots, 0);
    let market = ctx.market(&m.market).await;
    assert!(market.is_adl_pending());
    let book = market.adl_book;
    assert_eq!((book.owner, book.market), (m.market, m.market));
    assert_eq!(
        (book.base_lots, book.cost_basis, book.collateral),
        (100, before.cost_basis, before.collateral + paid as i64)
    );
    // Bankruptcy price with the vault's contribution: (6,000 − collateral) / 100 lots, rounded up.
    let expected = (6_000 * USDC - book.collateral as u64).div_ceil(100);
    let pb = book.state().signed_bankruptcy_price().unwrap();
    assert_eq!(pb.0, expected as i128);
    // Entering ADL started sweep 1 over the shorts, at the oracle.
    assert_eq!(
        (
            market.adl_sweep,
            market.adl_snapshot_price,
            market.adl_candidate_side
        ),
        (1, 58 * USDC, 1)
    );

    // While ADL is pending: no new risk, no insurance withdrawal.
    let opener = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    assert_perps_error(ctx.place(&m, &bob, offer).await, PerpsError::AdlPending);
    let bid = PlaceOrderArgs {
        order_type: OrderType::Limit,
        ..ioc(OrderSide::Bid, 57 * USDC, 1)
    };
    assert_perps_error(ctx.place(&m, &opener, bid).await, PerpsError::AdlPending);
    // Bob's resting ask would add to his short: reached in ADL, it is cancelled, not filled.
    ctx.place(&m, &opener, ioc(OrderSide::Bid, P, 1))
        .await
        .unwrap();
    assert_eq!(ctx.position(&m.market, &opener.pubkey()).await.base_lots, 0);
    assert_eq!(
        ctx.position(&m.market, &bob.pubkey())
            .await
            .open_order_count,
        0
    );
    let take = ix::withdraw_insurance(&ctx.admin.pubkey(), &m.market, &ctx.treasury, USDC);
    assert_perps_error(ctx.send_by_admin(take).await, PerpsError::AdlPending);
    // Emptied, Alice's position has nothing left to liquidate.
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::FlatPosition,
    );
    // She may close it while the market is in ADL: it leaves the registry.
    let registered = ctx.registry(&m.registry).await.header.count;
    ctx.send(
        &[ix::close_position(&alice.pubkey(), &m.market, &m.registry)],
        &[&alice.keypair],
    )
    .await
    .unwrap();
    assert!(ctx
        .account(&pda::position(&m.market, &alice.pubkey()))
        .await
        .is_none());
    assert_eq!(ctx.registry(&m.registry).await.header.count, registered - 1);
    // Bob's short is on the side the sweep ranks: while the market is in ADL he withdraws
    // nothing (depositing before his slot is ranked and withdrawing after would buy him a lower
    // place). The flat opener takes all of hers out.
    assert_perps_error(ctx.withdraw(&m, &bob, 1).await, PerpsError::AdlPending);
    ctx.withdraw(&m, &opener, 1_000 * USDC).await.unwrap();
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn liquidation_refuses_healthy_positions_itself_weak_liquidators_and_bad_oracles() {
    let (mut ctx, m, alice, bob, carol) = leveraged_long(1_000, 6_000 * USDC).await;
    let other = ctx.create_market().await;
    let stranger = ctx.funded_position(&other, 1_000 * USDC, 0).await;
    let poor = ctx.funded_position(&m, 10 * USDC, 0).await;
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::NotLiquidatable,
    );
    ctx.set_price(&m.oracle, btc(54_500), 0).await.unwrap();
    let before = (
        ctx.token_balance(&m.collateral_vault).await,
        ctx.token_balance(&m.insurance_vault).await,
        ctx.position(&m.market, &alice.pubkey()).await.base_lots,
    );
    assert_perps_error(
        ctx.liquidate(&m, &alice, &alice).await,
        PerpsError::SelfLiquidation,
    );
    assert_perps_error(
        ctx.liquidate(&m, &poor, &alice).await,
        PerpsError::LiquidatorBelowInitialMargin,
    );
    // A liquidator with no position in this market, or presenting its position in another.
    assert_anchor_error(
        ctx.liquidate(&m, &stranger, &alice).await,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram,
    );
    let foreign = ix::with_account(
        ix::liquidate(
            &stranger.pubkey(),
            &m.keys(),
            &pda::position(&m.market, &alice.pubkey()),
        ),
        &pda::position(&m.market, &stranger.pubkey()),
        &pda::position(&other.market, &stranger.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[foreign], &[&stranger.keypair]).await,
        PerpsError::WrongMarket,
    );
    ctx.advance_clock(61).await;
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::StaleOracle,
    );
    // Pausing does not read the price.
    ctx.set_status(&m, MarketStatus::Paused).await.unwrap();
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::MarketPaused,
    );
    let after = (
        ctx.token_balance(&m.collateral_vault).await,
        ctx.token_balance(&m.insurance_vault).await,
        ctx.position(&m.market, &alice.pubkey()).await.base_lots,
    );
    assert_eq!(before, after);
    // Reduce-only keeps liquidation running, on a price too uncertain for trading (3.7% > 1%).
    ctx.set_price(&m.oracle, btc(54_500), btc(2_000) as u64)
        .await
        .unwrap();
    ctx.set_status(&m, MarketStatus::ReduceOnly).await.unwrap();
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.base_lots,
        771
    );
    let _ = bob;
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn the_circuit_breaker_trips_on_a_fast_move_and_clears_after_its_cool_down() {
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
    ctx.cross(&m, &alice, &bob, OrderSide::Bid, P, 10).await;
    // 11% within the window: the next price observation trips the breaker.
    ctx.set_price(&m.oracle, btc(66_600), 0).await.unwrap();
    ctx.withdraw(&m, &alice, USDC).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.status, MarketStatus::ReduceOnly as u8);
    let until = market.breaker_until;
    assert_eq!(until, ctx.clock().await.unix_timestamp + 300);
    let carol = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let open = PlaceOrderArgs {
        order_type: OrderType::Limit,
        ..ioc(OrderSide::Bid, 66 * USDC, 1)
    };
    assert_perps_error(
        ctx.place(&m, &carol, open).await,
        PerpsError::ReduceOnlyWouldIncrease,
    );
    // After the cool-down the market is Active again by itself.
    ctx.advance_clock(300).await;
    ctx.set_price(&m.oracle, btc(66_600), 0).await.unwrap();
    ctx.withdraw(&m, &alice, USDC).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(
        (market.status, market.breaker_until),
        (MarketStatus::Active as u8, 0)
    );
    ctx.place(&m, &carol, open).await.unwrap();
}

#[tokio::test]
async fn orders_that_would_raise_open_interest_above_the_cap_are_rejected() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx
        .create_market_with(
            MarketParams {
                max_open_interest_lots: 100,
                ..default_params()
            },
            btc(60_000),
        )
        .await;
    let alice = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    ctx.cross(&m, &alice, &bob, OrderSide::Bid, P, 100).await;
    ctx.place(
        &m,
        &carol,
        PlaceOrderArgs {
            order_type: OrderType::PostOnly,
            ..ioc(OrderSide::Ask, P, 1)
        },
    )
    .await
    .unwrap();
    // Bob (long 100) buying more would take open interest to 101.
    assert_perps_error(
        ctx.place(&m, &bob, ioc(OrderSide::Bid, P, 1)).await,
        PerpsError::OpenInterestCapExceeded,
    );
    // Alice (short 100) buying back from Carol moves the short to Carol: still 100, allowed.
    ctx.place(&m, &alice, ioc(OrderSide::Bid, P, 1))
        .await
        .unwrap();
    assert_eq!(ctx.market(&m.market).await.open_interest_long, 100);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn initial_margin_rises_when_the_oracle_runs_away_from_its_ema() {
    let mut ctx = TestContext::with_exchange().await;
    let params = MarketParams {
        volatility_sensitivity_ppm: 10_000_000,
        max_volatility_factor_ppm: 3_000_000,
        ..default_params()
    };
    let m = ctx.create_market_with(params, btc(60_000)).await;
    let bob = ctx.funded_position(&m, 100 * USDC, 0).await;
    let rest = |lots| PlaceOrderArgs {
        order_type: OrderType::PostOnly,
        ..ioc(OrderSide::Bid, 62 * USDC, lots)
    };
    // The first observation sets the EMA at 60; 150 lots at 62 need 1% of 9,300 = 93 USDC.
    ctx.place(&m, &bob, rest(150)).await.unwrap();
    ctx.send(
        &[ix::cancel_all_orders(&bob.pubkey(), &m.keys())],
        &[&bob.keypair],
    )
    .await
    .unwrap();
    // The oracle jumps 5% above its EMA: the factor is 1.5 and the same order needs 139.5 USDC.
    ctx.set_price(&m.oracle, btc(63_000), 0).await.unwrap();
    assert_perps_error(
        ctx.place(&m, &bob, rest(150)).await,
        PerpsError::InsufficientMargin,
    );
    // 100 lots need 1.5% of 6,200 = 93 USDC.
    ctx.place(&m, &bob, rest(100)).await.unwrap();
}

#[tokio::test]
async fn withdraw_insurance_is_admin_only_and_stops_at_the_floor() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx
        .create_market_with(
            MarketParams {
                insurance_floor: 40 * USDC,
                ..default_params()
            },
            btc(60_000),
        )
        .await;
    ctx.fund_insurance(&m, 100 * USDC).await;
    let intruder = ctx.wallet(0).await;
    let by_intruder = ix::withdraw_insurance(&intruder.pubkey(), &m.market, &intruder.token, USDC);
    assert_perps_error(
        ctx.send(&[by_intruder], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );
    let too_much =
        ix::withdraw_insurance(&ctx.admin.pubkey(), &m.market, &ctx.treasury, 60 * USDC + 1);
    assert_perps_error(
        ctx.send_by_admin(too_much).await,
        PerpsError::InsuranceBelowFloor,
    );
    let zero = ix::withdraw_insurance(&ctx.admin.pubkey(), &m.market, &ctx.treasury, 0);
    assert_perps_error(ctx.send_by_admin(zero).await, PerpsError::ZeroAmount);
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 100 * USDC);
    ctx.send_by_admin(ix::withdraw_insurance(
        &ctx.admin.pubkey(),
        &m.market,
        &ctx.treasury,
        60 * USDC,
    ))
    .await
    .unwrap();
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 40 * USDC);
    assert_eq!(ctx.token_balance(&ctx.treasury.clone()).await, 60 * USDC);
}
