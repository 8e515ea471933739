use anchor_lang::error::ErrorCode;
use perps::error::PerpsError;
use perps_client::{instructions as ix, pda};
use perps_testkit::*;
use solana_signer::Signer;

#[tokio::test]
async fn create_price_feed_and_set_price_publish_at_the_cluster_time() {
    let mut ctx = TestContext::with_exchange().await;
    let authority = ctx.oracle_authority.pubkey();
    ctx.send_by_admin(ix::create_price_feed(
        &ctx.admin.pubkey(),
        0,
        &authority,
        FEED_EXPO,
    ))
    .await
    .unwrap();
    let feed_key = pda::price_feed(&pda::market(0));
    let feed = ctx.price_feed(&feed_key).await;
    assert_eq!(
        (feed.market, feed.authority, feed.expo, feed.price),
        (pda::market(0), authority, FEED_EXPO, 0)
    );

    ctx.advance_clock(100).await;
    ctx.set_price(&feed_key, btc(61_000), 1_234).await.unwrap();
    let now = ctx.clock().await.unix_timestamp;
    let feed = ctx.price_feed(&feed_key).await;
    assert_eq!(
        (feed.price, feed.conf, feed.publish_time),
        (btc(61_000), 1_234, now)
    );
}

#[tokio::test]
async fn create_price_feed_rejects_intruders_wrong_pdas_and_absurd_exponents() {
    let mut ctx = TestContext::with_exchange().await;
    let intruder = ctx.wallet(0).await;
    let authority = ctx.oracle_authority.pubkey();
    let by_intruder = ix::create_price_feed(&intruder.pubkey(), 0, &authority, FEED_EXPO);
    assert_perps_error(
        ctx.send(&[by_intruder], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );

    // The market account must be the PDA of the index in the instruction.
    let wrong_market = ix::with_account(
        ix::create_price_feed(&ctx.admin.pubkey(), 0, &authority, FEED_EXPO),
        &pda::market(0),
        &pda::market(7),
    );
    assert_anchor_error(
        ctx.send_by_admin(wrong_market).await,
        ErrorCode::ConstraintSeeds,
    );

    let absurd = ix::create_price_feed(&ctx.admin.pubkey(), 0, &authority, 19);
    assert_perps_error(
        ctx.send_by_admin(absurd).await,
        PerpsError::InvalidOracleConfig,
    );
    assert!(ctx
        .account(&pda::price_feed(&pda::market(0)))
        .await
        .is_none());
}

#[tokio::test]
async fn set_price_rejects_other_signers_and_non_positive_prices() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let before = ctx.price_feed(&m.oracle).await;
    let intruder = ctx.wallet(0).await;
    let forged = ix::set_price(&intruder.pubkey(), &m.oracle, btc(1), 0);
    assert_perps_error(
        ctx.send(&[forged], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );
    assert_perps_error(
        ctx.set_price(&m.oracle, 0, 0).await,
        PerpsError::InvalidOraclePrice,
    );
    assert_perps_error(
        ctx.set_price(&m.oracle, -5, 0).await,
        PerpsError::InvalidOraclePrice,
    );
    let after = ctx.price_feed(&m.oracle).await;
    assert_eq!(
        (after.price, after.publish_time),
        (before.price, before.publish_time)
    );
}
