//! The one oracle function, exercised through `withdraw` (which needs a trading-grade price) on
//! markets priced by Pyth price-update accounts.

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps::state::{MarketParams, OracleSource};
use perps_client::{instructions as ix, pda, symbol};
use perps_testkit::*;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use solana_signer::Signer;

const FEED_ID: [u8; 32] = [7; 32];

fn update(price: i64, conf: u64, publish_time: i64) -> PriceUpdateV2 {
    PriceUpdateV2 {
        write_authority: TestKeypair::new().pubkey(),
        verification_level: VerificationLevel::Full,
        price_message: PriceFeedMessage {
            feed_id: FEED_ID,
            price,
            conf,
            exponent: FEED_EXPO,
            publish_time,
            prev_publish_time: publish_time - 1,
            ema_price: price,
            ema_conf: conf,
        },
        posted_slot: 1,
    }
}

/// A Pyth-priced market with Alice 100 lots long at 60,000 and 1,000.60 USDC of collateral.
async fn pyth_market() -> (TestContext, MarketFixture, Wallet, Pubkey) {
    let mut ctx = TestContext::with_exchange().await;
    let oracle = TestKeypair::new().pubkey();
    let now = ctx.clock().await.unix_timestamp;
    ctx.set_pyth_update(&oracle, &update(btc(60_000), 0, now));
    let params = MarketParams {
        oracle_source: OracleSource::PythPull as u8,
        pyth_feed_id: FEED_ID,
        ..default_params()
    };
    let create = ix::create_market(
        &ctx.admin.pubkey(),
        &ctx.mint,
        0,
        &oracle,
        symbol("BTC-PERP"),
        params,
    );
    ctx.send_by_admin(create).await.unwrap();
    let market = pda::market(0);
    let order_book = ctx.create_order_book(&market).await;
    let registry = ctx.create_registry(&market, REGISTRY_CAPACITY).await;
    let m = MarketFixture {
        index: 0,
        market,
        oracle,
        order_book,
        registry,
        collateral_vault: pda::collateral_vault(&market),
        insurance_vault: pda::insurance_vault(&market),
        treasury: ctx.treasury,
    };
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let counterparty = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    // Alice (maker, +0.60 USDC rebate) buys 100 lots at 60,000.
    ctx.cross(
        &m,
        &alice,
        &counterparty,
        perps_client::OrderSide::Ask,
        60 * USDC,
        100,
    )
    .await;
    (ctx, m, alice, oracle)
}

#[tokio::test]
async fn a_pyth_price_is_read_and_converted_to_quote_atoms_per_lot() {
    let (mut ctx, m, alice, oracle) = pyth_market().await;
    let now = ctx.clock().await.unix_timestamp;
    // At 59,000 the long is down 100 USDC: equity 900.60, IM 1% of 5,900 = 59: 841.60 USDC free.
    ctx.set_pyth_update(&oracle, &update(btc(59_000), 0, now));
    assert_perps_error(
        ctx.withdraw(&m, &alice, 841_600_001).await,
        PerpsError::WithdrawalBelowInitialMargin,
    );
    ctx.withdraw(&m, &alice, 841_600_000).await.unwrap();
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn pyth_updates_that_are_stale_uncertain_foreign_unverified_or_negative_are_refused() {
    let (mut ctx, m, alice, oracle) = pyth_market().await;
    let now = ctx.clock().await.unix_timestamp;
    let before = ctx.token_balance(&m.collateral_vault).await;
    let cases = [
        (update(btc(60_000), 0, now - 61), PerpsError::StaleOracle),
        (
            update(btc(60_000), btc(601) as u64, now),
            PerpsError::OracleConfidenceTooWide,
        ),
        (update(-btc(60_000), 0, now), PerpsError::InvalidOraclePrice),
        (update(0, 0, now), PerpsError::InvalidOraclePrice),
        (
            PriceUpdateV2 {
                verification_level: VerificationLevel::Partial { num_signatures: 5 },
                ..update(btc(60_000), 0, now)
            },
            PerpsError::OracleVerificationTooLow,
        ),
        (
            PriceUpdateV2 {
                price_message: PriceFeedMessage {
                    feed_id: [8; 32],
                    ..update(btc(60_000), 0, now).price_message
                },
                ..update(btc(60_000), 0, now)
            },
            PerpsError::OracleFeedMismatch,
        ),
    ];
    for (bad, expected) in cases {
        ctx.set_pyth_update(&oracle, &bad);
        assert_perps_error(ctx.withdraw(&m, &alice, USDC).await, expected);
    }
    // The right layout under the wrong owner.
    ctx.set_pyth_update(&oracle, &update(btc(60_000), 0, now));
    let mut account = ctx.account(&oracle).await.unwrap();
    account.owner = TestKeypair::new().pubkey();
    ctx.bank.set_account(&oracle, &account.into());
    assert_perps_error(
        ctx.withdraw(&m, &alice, USDC).await,
        PerpsError::InvalidOracleAccount,
    );
    assert_eq!(ctx.token_balance(&m.collateral_vault).await, before);
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.collateral,
        1_000_600_000
    );
}

#[tokio::test]
async fn a_pyth_market_cannot_be_created_on_a_foreign_feed() {
    let mut ctx = TestContext::with_exchange().await;
    let oracle = TestKeypair::new().pubkey();
    let now = ctx.clock().await.unix_timestamp;
    ctx.set_pyth_update(&oracle, &update(btc(60_000), 0, now));
    let params = MarketParams {
        oracle_source: OracleSource::PythPull as u8,
        pyth_feed_id: [9; 32],
        ..default_params()
    };
    let create = ix::create_market(
        &ctx.admin.pubkey(),
        &ctx.mint,
        0,
        &oracle,
        symbol("BTC-PERP"),
        params,
    );
    assert_perps_error(
        ctx.send_by_admin(create).await,
        PerpsError::OracleFeedMismatch,
    );
    assert!(ctx.account(&pda::market(0)).await.is_none());
}
