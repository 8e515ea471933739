use perps::error::PerpsError;
use perps::state::{MarginTierParams, MarketParams, MarketStatus};
use perps_client::{instructions as ix, pda, symbol};
use perps_testkit::*;
use solana_signer::Signer;

#[tokio::test]
async fn create_market_stores_params_and_makes_pda_owned_vaults() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let market = ctx.market(&m.market).await;
    assert_eq!(market.index, 0);
    assert_eq!(market.params, default_params());
    assert_eq!(market.oracle, m.oracle);
    assert_eq!(market.symbol, symbol("BTC-PERP"));
    assert_eq!(market.status, MarketStatus::Active as u8);
    assert_eq!(market.quote_decimals, USDC_DECIMALS);
    assert_eq!(
        (market.open_interest_long, market.open_interest_short),
        (0, 0)
    );
    assert_eq!(ctx.exchange().await.market_count, 1);
    for vault in [m.collateral_vault, m.insurance_vault] {
        let account = ctx.account(&vault).await.expect("vault");
        assert_eq!(account.owner, spl_token_interface::ID);
        let token = <spl_token_interface::state::Account as solana_program_pack::Pack>::unpack(
            &account.data,
        )
        .unwrap();
        assert_eq!(
            token.owner, m.market,
            "the market PDA is the vault authority"
        );
        assert_eq!(token.mint, ctx.mint);
        assert_eq!(token.amount, 0);
    }
    // A second market takes the next index.
    let second = ctx.create_market().await;
    assert_eq!(second.index, 1);
    assert_eq!(ctx.market(&second.market).await.index, 1);
}

async fn try_create(ctx: &mut TestContext, params: MarketParams) -> Result<(), TxError> {
    let index = ctx.exchange().await.market_count;
    let market = pda::market(index);
    let oracle = pda::price_feed(&market);
    if ctx.account(&oracle).await.is_none() {
        let authority = ctx.oracle_authority.pubkey();
        ctx.send_by_admin(ix::create_price_feed(
            &ctx.admin.pubkey(),
            index,
            &authority,
            FEED_EXPO,
        ))
        .await
        .unwrap();
        ctx.set_price(&oracle, btc(60_000), 0).await.unwrap();
    }
    let create = ix::create_market(
        &ctx.admin.pubkey(),
        &ctx.mint,
        index,
        &oracle,
        symbol("X"),
        params,
    );
    ctx.send_by_admin(create).await
}

#[tokio::test]
async fn create_market_rejects_each_invalid_parameter_by_name() {
    let mut ctx = TestContext::with_exchange().await;
    let base = default_params();
    let mut unsorted = base;
    unsorted.margin_tiers.swap(0, 1);
    let mut stray_tier = base;
    stray_tier.margin_tiers[4] = MarginTierParams {
        max_notional: 1,
        maintenance_rate_ppm: 1,
        initial_rate_ppm: 2,
    };
    let mut below_exchange_floor = base;
    below_exchange_floor.margin_tiers[0].maintenance_rate_ppm = 999;
    let cases = [
        (
            MarketParams {
                tick_size: 0,
                ..base
            },
            PerpsError::InvalidLotOrTickSize,
        ),
        (
            MarketParams {
                base_lot_exponent: 13,
                ..base
            },
            PerpsError::InvalidLotOrTickSize,
        ),
        (
            MarketParams {
                min_order_lots: 0,
                ..base
            },
            PerpsError::InvalidMarketLimits,
        ),
        (
            MarketParams {
                max_open_interest_lots: 0,
                ..base
            },
            PerpsError::InvalidMarketLimits,
        ),
        (
            MarketParams {
                taker_fee_bps: 101,
                ..base
            },
            PerpsError::InvalidFeeRates,
        ),
        (
            MarketParams {
                maker_fee_bps: -6,
                ..base
            },
            PerpsError::InvalidFeeRates,
        ),
        (
            MarketParams {
                fee_insurance_share_bps: 10_001,
                ..base
            },
            PerpsError::InvalidFeeRates,
        ),
        (
            MarketParams {
                margin_tier_count: 0,
                ..base
            },
            PerpsError::InvalidMarginTiers,
        ),
        (
            MarketParams {
                margin_tier_count: 7,
                ..base
            },
            PerpsError::InvalidMarginTiers,
        ),
        (unsorted, PerpsError::InvalidMarginTiers),
        (stray_tier, PerpsError::InvalidMarginTiers),
        (below_exchange_floor, PerpsError::InvalidMarginTiers),
        (
            MarketParams {
                liquidation_fee_ppm: 4_000,
                ..base
            },
            PerpsError::InvalidLiquidationFees,
        ),
        (
            MarketParams {
                max_oracle_staleness_secs: 121,
                ..base
            },
            PerpsError::InvalidOracleConfig,
        ),
        (
            MarketParams {
                max_oracle_confidence_ppm: 0,
                ..base
            },
            PerpsError::InvalidOracleConfig,
        ),
        (
            MarketParams {
                oracle_source: 2,
                ..base
            },
            PerpsError::InvalidOracleConfig,
        ),
        (
            MarketParams {
                pyth_feed_id: [1; 32],
                ..base
            },
            PerpsError::InvalidOracleConfig,
        ),
    ];
    for (params, expected) in cases {
        assert_perps_error(try_create(&mut ctx, params).await, expected);
    }
    assert_eq!(ctx.exchange().await.market_count, 0);
    assert!(ctx.account(&pda::market(0)).await.is_none());
}

#[tokio::test]
async fn create_market_is_admin_only() {
    let mut ctx = TestContext::with_exchange().await;
    let intruder = ctx.wallet(0).await;
    let oracle = pda::price_feed(&pda::market(0));
    let authority = ctx.oracle_authority.pubkey();
    ctx.send_by_admin(ix::create_price_feed(
        &ctx.admin.pubkey(),
        0,
        &authority,
        FEED_EXPO,
    ))
    .await
    .unwrap();
    let create = ix::create_market(
        &intruder.pubkey(),
        &ctx.mint,
        0,
        &oracle,
        symbol("X"),
        default_params(),
    );
    assert_perps_error(
        ctx.send(&[create], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );
    assert!(ctx.account(&pda::market(0)).await.is_none());
}

#[tokio::test]
async fn create_market_rejects_another_markets_feed_and_another_mint() {
    let mut ctx = TestContext::with_exchange().await;
    let first = ctx.create_market().await;
    // Market 1 pointed at market 0's feed.
    let create = ix::create_market(
        &ctx.admin.pubkey(),
        &ctx.mint,
        1,
        &first.oracle,
        symbol("X"),
        default_params(),
    );
    assert_perps_error(ctx.send_by_admin(create).await, PerpsError::WrongOracle);
    // A mint other than the exchange's collateral mint.
    let other_mint = ctx.create_mint().await;
    let authority = ctx.oracle_authority.pubkey();
    ctx.send_by_admin(ix::create_price_feed(
        &ctx.admin.pubkey(),
        1,
        &authority,
        FEED_EXPO,
    ))
    .await
    .unwrap();
    let feed = pda::price_feed(&pda::market(1));
    let create = ix::create_market(
        &ctx.admin.pubkey(),
        &other_mint,
        1,
        &feed,
        symbol("X"),
        default_params(),
    );
    assert_perps_error(ctx.send_by_admin(create).await, PerpsError::InvalidMint);
    assert_eq!(ctx.exchange().await.market_count, 1);
}

#[tokio::test]
async fn update_market_params_applies_validated_changes() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let mut params = default_params();
    params.taker_fee_bps = 7;
    params.margin_tiers[0].initial_rate_ppm = 20_000; // less leverage for new risk
    params.margin_tiers[2].maintenance_rate_ppm = 20_000; // a lower maintenance rate is allowed
    params.max_open_interest_lots = 5_000;
    ctx.update_params(&m, params).await.unwrap();
    assert_eq!(ctx.market(&m.market).await.params, params);
}

#[tokio::test]
async fn update_market_params_rejects_intruders_immutables_and_maintenance_increases() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let intruder = ctx.wallet(0).await;
    let base = default_params();

    let by_intruder = ix::update_market_params(&intruder.pubkey(), &m.market, base);
    assert_perps_error(
        ctx.send(&[by_intruder], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );

    let mut higher_maintenance = base;
    higher_maintenance.margin_tiers[1].maintenance_rate_ppm = 15_000;
    // Moving a bracket boundary down raises the rate for notionals in between.
    let mut narrower_first_tier = base;
    narrower_first_tier.margin_tiers[0].max_notional = 5_000 * USDC;
    let cases = [
        (
            MarketParams {
                tick_size: 20_000,
                ..base
            },
            PerpsError::ImmutableParameter,
        ),
        (
            MarketParams {
                base_lot_exponent: -2,
                ..base
            },
            PerpsError::ImmutableParameter,
        ),
        (higher_maintenance, PerpsError::MaintenanceRateIncrease),
        (narrower_first_tier, PerpsError::MaintenanceRateIncrease),
        (
            MarketParams {
                maker_fee_bps: 6,
                ..base
            },
            PerpsError::InvalidFeeRates,
        ),
    ];
    for (params, expected) in cases {
        assert_perps_error(ctx.update_params(&m, params).await, expected);
    }
    assert_eq!(ctx.market(&m.market).await.params, base);
}

#[tokio::test]
async fn set_market_status_moves_between_states_and_settles_at_the_oracle() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    for status in [
        MarketStatus::ReduceOnly,
        MarketStatus::Paused,
        MarketStatus::Active,
    ] {
        ctx.send_by_admin(ix::set_market_status(
            &ctx.admin.pubkey(),
            &m.market,
            &m.oracle,
            status,
        ))
        .await
        .unwrap();
        assert_eq!(ctx.status(&m.market).await, status);
    }
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.status, MarketStatus::Settled as u8);
    // 60,000 USDC per BTC is 60 USDC per 0.001-BTC lot.
    assert_eq!(market.settlement_price, 60 * USDC);
    // Settled is final.
    let reopen = ix::set_market_status(
        &ctx.admin.pubkey(),
        &m.market,
        &m.oracle,
        MarketStatus::Active,
    );
    assert_perps_error(ctx.send_by_admin(reopen).await, PerpsError::MarketSettled);
    assert_perps_error(
        ctx.update_params(&m, default_params()).await,
        PerpsError::MarketSettled,
    );
}

#[tokio::test]
async fn set_market_status_is_admin_only_and_cannot_settle_on_a_stale_price() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let intruder = ctx.wallet(0).await;
    let pause = ix::set_market_status(
        &intruder.pubkey(),
        &m.market,
        &m.oracle,
        MarketStatus::Paused,
    );
    assert_perps_error(
        ctx.send(&[pause], &[&intruder.keypair]).await,
        PerpsError::Unauthorized,
    );
    ctx.advance_clock(61).await;
    let settle = ix::set_market_status(
        &ctx.admin.pubkey(),
        &m.market,
        &m.oracle,
        MarketStatus::Settled,
    );
    assert_perps_error(ctx.send_by_admin(settle).await, PerpsError::StaleOracle);
    let market = ctx.market(&m.market).await;
    assert_eq!(
        (market.status, market.settlement_price),
        (MarketStatus::Active as u8, 0)
    );
}
