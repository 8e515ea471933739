use anchor_lang::error::ErrorCode;
use perps::error::PerpsError;
use perps_client::{instructions as ix, pda};
use perps_testkit::*;
use solana_signer::Signer;

#[tokio::test]
async fn initialize_exchange_records_admin_mint_treasury_and_bounds() {
    let mut ctx = TestContext::with_exchange().await;
    let exchange = ctx.exchange().await;
    assert_eq!(exchange.admin, ctx.admin.pubkey());
    assert_eq!(exchange.collateral_mint, ctx.mint);
    assert_eq!(exchange.treasury, ctx.treasury);
    assert_eq!(exchange.bounds, default_bounds());
    assert_eq!(exchange.market_count, 0);
    assert_eq!(exchange.collateral_decimals, USDC_DECIMALS);
}

#[tokio::test]
async fn initialize_exchange_twice_is_refused() {
    let mut ctx = TestContext::with_exchange().await;
    let again = ix::initialize_exchange(
        &ctx.admin.pubkey(),
        &ctx.mint,
        &ctx.treasury,
        default_bounds(),
    );
    // The exchange PDA already exists: the system program refuses to create it again.
    let result = ctx.send_by_admin(again).await;
    assert!(
        matches!(result, Err(TxError::InstructionError(0, _))),
        "{result:?}"
    );
    assert_eq!(ctx.exchange().await.admin, ctx.admin.pubkey());
}

#[tokio::test]
async fn initialize_exchange_rejects_a_treasury_of_another_mint() {
    let mut ctx = TestContext::new().await;
    let admin = ctx.admin.pubkey();
    let other_mint = ctx.create_mint().await;
    let other_treasury = ctx.create_token_account_of(&other_mint, &admin).await;
    let result = ctx
        .send_by_admin(ix::initialize_exchange(
            &admin,
            &ctx.mint,
            &other_treasury,
            default_bounds(),
        ))
        .await;
    assert_perps_error(result, PerpsError::InvalidTreasury);
    assert!(ctx.account(&pda::exchange()).await.is_none());
}

#[tokio::test]
async fn initialize_exchange_rejects_a_mint_that_is_not_a_mint() {
    let mut ctx = TestContext::new().await;
    let admin = ctx.admin.pubkey();
    let not_a_mint = TestKeypair::new().pubkey();
    let result = ctx
        .send_by_admin(ix::initialize_exchange(
            &admin,
            &not_a_mint,
            &ctx.treasury,
            default_bounds(),
        ))
        .await;
    assert_anchor_error(result, ErrorCode::AccountNotInitialized);
    assert!(ctx.account(&pda::exchange()).await.is_none());
}

#[tokio::test]
async fn initialize_exchange_rejects_bounds_outside_the_absolute_limits() {
    let mut ctx = TestContext::new().await;
    for bounds in [
        perps::state::ExchangeBounds {
            max_taker_fee_bps: 1_001,
            ..default_bounds()
        },
        perps::state::ExchangeBounds {
            min_maintenance_rate_ppm: 0,
            ..default_bounds()
        },
        perps::state::ExchangeBounds {
            max_oracle_staleness_secs: 0,
            ..default_bounds()
        },
        perps::state::ExchangeBounds {
            max_oracle_confidence_ppm: 100_001,
            ..default_bounds()
        },
    ] {
        let result = ctx
            .send_by_admin(ix::initialize_exchange(
                &ctx.admin.pubkey(),
                &ctx.mint,
                &ctx.treasury,
                bounds,
            ))
            .await;
        assert_perps_error(result, PerpsError::InvalidExchangeBounds);
    }
    assert!(ctx.account(&pda::exchange()).await.is_none());
}
