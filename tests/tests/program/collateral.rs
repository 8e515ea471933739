use anchor_lang::error::ErrorCode;
use perps::error::PerpsError;
use perps::state::MarketStatus;
use perps_client::{instructions as ix, pda};
use perps_testkit::*;
use solana_signer::Signer;

/// 60,000 USDC per BTC is 60 USDC per 0.001-BTC lot.
const P: u64 = 60 * USDC;

/// Alice (maker) buys 100 lots (0.1 BTC) at 60,000 from a counterparty: 6,000 USDC notional,
/// 1% initial margin = 60 USDC, and a 1 bp maker rebate of 0.60 USDC on top of her collateral.
async fn alice_long_100_lots(ctx: &mut TestContext, m: &MarketFixture, alice: &Wallet) {
    let counterparty = ctx.funded_position(m, 1_000 * USDC, 0).await;
    ctx.cross(
        m,
        alice,
        &counterparty,
        perps_client::OrderSide::Ask,
        P,
        100,
    )
    .await;
}

/// Token balances a failed instruction must leave as they were.
async fn balances(
    ctx: &mut TestContext,
    m: &MarketFixture,
    wallet: &Wallet,
) -> (u64, u64, u64, i64) {
    let collateral = ctx.position(&m.market, &wallet.pubkey()).await.collateral;
    (
        ctx.token_balance(&wallet.token).await,
        ctx.token_balance(&m.collateral_vault).await,
        ctx.token_balance(&m.insurance_vault).await,
        collateral,
    )
}

#[tokio::test]
async fn open_position_creates_the_owners_pda_for_the_market() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let owner = ctx.wallet(0).await;
    ctx.open_position(&m, &owner).await.unwrap();
    let position = ctx.position(&m.market, &owner.pubkey()).await;
    assert_eq!(
        (position.market, position.owner),
        (m.market, owner.pubkey())
    );
    assert_eq!(
        (position.collateral, position.base_lots, position.cost_basis),
        (0, 0, 0)
    );
    // Opening it again fails: the account exists.
    let again = ctx.open_position(&m, &owner).await;
    assert!(
        matches!(again, Err(TxError::InstructionError(0, _))),
        "{again:?}"
    );
}

#[tokio::test]
async fn open_position_rejects_a_pda_of_another_owner_and_a_settled_market() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let owner = ctx.wallet(0).await;
    let other = TestKeypair::new().pubkey();
    let wrong_pda = ix::with_account(
        ix::open_position(&owner.pubkey(), &m.market, &m.registry),
        &pda::position(&m.market, &owner.pubkey()),
        &pda::position(&m.market, &other),
    );
    assert_anchor_error(
        ctx.send(&[wrong_pda], &[&owner.keypair]).await,
        ErrorCode::ConstraintSeeds,
    );

    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    assert_perps_error(
        ctx.open_position(&m, &owner).await,
        PerpsError::MarketSettled,
    );
    assert!(ctx
        .account(&pda::position(&m.market, &owner.pubkey()))
        .await
        .is_none());
}

#[tokio::test]
async fn deposit_moves_tokens_into_the_vault_and_credits_the_position() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 0, 1_000 * USDC).await;
    let bob = ctx.funded_position(&m, 250 * USDC, 0).await;
    ctx.deposit(&m, &alice, 400 * USDC).await.unwrap();
    ctx.deposit(&m, &alice, 100 * USDC).await.unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.collateral,
        500 * USDC as i64
    );
    assert_eq!(ctx.token_balance(&alice.token).await, 500 * USDC);
    assert_eq!(ctx.token_balance(&m.collateral_vault).await, 750 * USDC);
    assert_eq!(
        ctx.position(&m.market, &bob.pubkey()).await.collateral,
        250 * USDC as i64
    );
    // Deposits stay open while paused.
    ctx.set_status(&m, MarketStatus::Paused).await.unwrap();
    ctx.deposit(&m, &alice, 1).await.unwrap();
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn deposit_rejects_bad_inputs_and_changes_nothing() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let other = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 100 * USDC).await;
    let mallory = ctx.funded_position(&m, 0, 100 * USDC).await;
    ctx.open_position(&other, &alice).await.unwrap();
    let before = balances(&mut ctx, &m, &alice).await;

    assert_perps_error(ctx.deposit(&m, &alice, 0).await, PerpsError::ZeroAmount);
    assert_perps_error(
        ctx.deposit(&m, &alice, 100 * USDC + 1).await,
        PerpsError::InsufficientFunds,
    );
    // Mallory signs for Alice's position.
    let wrong_signer = ix::with_account(
        ix::deposit(&mallory.pubkey(), &m.market, &mallory.token, USDC),
        &pda::position(&m.market, &mallory.pubkey()),
        &pda::position(&m.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[wrong_signer], &[&mallory.keypair]).await,
        PerpsError::Unauthorized,
    );
    // Alice's position in the other market, presented with this market.
    let other_market_position = ix::with_account(
        ix::deposit(&alice.pubkey(), &m.market, &alice.token, USDC),
        &pda::position(&m.market, &alice.pubkey()),
        &pda::position(&other.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[other_market_position], &[&alice.keypair]).await,
        PerpsError::WrongMarket,
    );
    // The insurance vault in place of the collateral vault.
    let wrong_vault = ix::with_account(
        ix::deposit(&alice.pubkey(), &m.market, &alice.token, USDC),
        &m.collateral_vault,
        &m.insurance_vault,
    );
    assert_perps_error(
        ctx.send(&[wrong_vault], &[&alice.keypair]).await,
        PerpsError::WrongVault,
    );
    // A token account of another mint.
    let other_mint = ctx.create_mint().await;
    let foreign = ctx
        .create_token_account_of(&other_mint, &alice.pubkey())
        .await;
    let wrong_mint = ix::deposit(&alice.pubkey(), &m.market, &foreign, USDC);
    assert_perps_error(
        ctx.send(&[wrong_mint], &[&alice.keypair]).await,
        PerpsError::InvalidMint,
    );
    assert_eq!(balances(&mut ctx, &m, &alice).await, before);

    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    assert_perps_error(
        ctx.deposit(&m, &alice, USDC).await,
        PerpsError::MarketSettled,
    );
    assert_eq!(balances(&mut ctx, &m, &alice).await, before);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_deposit_beyond_the_collateral_range_is_an_overflow_error() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let whale = ctx.funded_position(&m, 0, i64::MAX as u64 + 10).await;
    assert_perps_error(
        ctx.deposit(&m, &whale, i64::MAX as u64 + 1).await,
        PerpsError::MathOverflow,
    );
    ctx.deposit(&m, &whale, i64::MAX as u64).await.unwrap();
    let before = balances(&mut ctx, &m, &whale).await;
    assert_perps_error(ctx.deposit(&m, &whale, 1).await, PerpsError::MathOverflow);
    assert_eq!(balances(&mut ctx, &m, &whale).await, before);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn an_idle_position_withdraws_everything_even_on_a_stale_oracle() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 300 * USDC, 0).await;
    ctx.advance_clock(3_600).await;
    ctx.withdraw(&m, &alice, 100 * USDC).await.unwrap();
    ctx.withdraw(&m, &alice, 200 * USDC).await.unwrap();
    assert_eq!(ctx.token_balance(&alice.token).await, 300 * USDC);
    assert_eq!(ctx.position(&m.market, &alice.pubkey()).await.collateral, 0);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn withdrawal_stops_exactly_at_initial_margin() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    alice_long_100_lots(&mut ctx, &m, &alice).await;
    // Equity 1,000.60 − IM 60 = 940.60 USDC free.
    let before = balances(&mut ctx, &m, &alice).await;
    assert_perps_error(
        ctx.withdraw(&m, &alice, 940_600_001).await,
        PerpsError::WithdrawalBelowInitialMargin,
    );
    assert_eq!(balances(&mut ctx, &m, &alice).await, before);
    ctx.withdraw(&m, &alice, 940_600_000).await.unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.collateral,
        60 * USDC as i64
    );
    // After a 10% fall the position is under water: nothing more leaves.
    ctx.set_price(&m.oracle, btc(54_000), 0).await.unwrap();
    assert_perps_error(
        ctx.withdraw(&m, &alice, 1).await,
        PerpsError::WithdrawalBelowInitialMargin,
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn withdraw_rejects_bad_inputs_and_changes_nothing() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let other = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let mallory = ctx.funded_position(&m, 0, 0).await;
    ctx.open_position(&other, &alice).await.unwrap();
    alice_long_100_lots(&mut ctx, &m, &alice).await;
    let before = balances(&mut ctx, &m, &alice).await;

    assert_perps_error(ctx.withdraw(&m, &alice, 0).await, PerpsError::ZeroAmount);
    assert_perps_error(
        ctx.withdraw(&m, &alice, 1_000_600_001).await,
        PerpsError::InsufficientCollateral,
    );
    let wrong_signer = ix::with_account(
        ix::withdraw(
            &mallory.pubkey(),
            &m.market,
            &mallory.token,
            &m.oracle,
            USDC,
        ),
        &pda::position(&m.market, &mallory.pubkey()),
        &pda::position(&m.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[wrong_signer], &[&mallory.keypair]).await,
        PerpsError::Unauthorized,
    );
    let other_market_position = ix::with_account(
        ix::withdraw(&alice.pubkey(), &m.market, &alice.token, &m.oracle, USDC),
        &pda::position(&m.market, &alice.pubkey()),
        &pda::position(&other.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[other_market_position], &[&alice.keypair]).await,
        PerpsError::WrongMarket,
    );
    let wrong_vault = ix::with_account(
        ix::withdraw(&alice.pubkey(), &m.market, &alice.token, &m.oracle, USDC),
        &m.collateral_vault,
        &other.collateral_vault,
    );
    assert_perps_error(
        ctx.send(&[wrong_vault], &[&alice.keypair]).await,
        PerpsError::WrongVault,
    );
    let wrong_oracle = ix::withdraw(
        &alice.pubkey(),
        &m.market,
        &alice.token,
        &other.oracle,
        USDC,
    );
    assert_perps_error(
        ctx.send(&[wrong_oracle], &[&alice.keypair]).await,
        PerpsError::WrongOracle,
    );
    // A wide confidence interval (2% > 1%) is refused for withdrawals.
    ctx.set_price(&m.oracle, btc(60_000), btc(1_200) as u64)
        .await
        .unwrap();
    assert_perps_error(
        ctx.withdraw(&m, &alice, USDC).await,
        PerpsError::OracleConfidenceTooWide,
    );
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    // A price older than the market's 60 seconds.
    ctx.advance_clock(61).await;
    assert_perps_error(
        ctx.withdraw(&m, &alice, USDC).await,
        PerpsError::StaleOracle,
    );
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    ctx.set_status(&m, MarketStatus::Paused).await.unwrap();
    assert_perps_error(
        ctx.withdraw(&m, &alice, USDC).await,
        PerpsError::MarketPaused,
    );
    assert_eq!(balances(&mut ctx, &m, &alice).await, before);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn close_position_returns_rent_to_the_owner() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 50 * USDC, 0).await;
    ctx.withdraw(&m, &alice, 50 * USDC).await.unwrap();
    let key = pda::position(&m.market, &alice.pubkey());
    let rent = ctx.lamports(&key).await;
    let owner_before = ctx.lamports(&alice.pubkey()).await;
    ctx.send(
        &[ix::close_position(&alice.pubkey(), &m.market, &m.registry)],
        &[&alice.keypair],
    )
    .await
    .unwrap();
    assert!(ctx.account(&key).await.is_none());
    assert_eq!(ctx.lamports(&alice.pubkey()).await, owner_before + rent);
}

#[tokio::test]
async fn close_position_refuses_size_orders_collateral_and_strangers() {
    use perps_client::{OrderSide, OrderType, PlaceOrderArgs};
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 50 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 50 * USDC, 0).await;
    let mallory = ctx.funded_position(&m, 0, 0).await;
    let close = ix::close_position(&alice.pubkey(), &m.market, &m.registry);
    assert_perps_error(
        ctx.send(&[close.clone()], &[&alice.keypair]).await,
        PerpsError::PositionHasCollateral,
    );

    let bid = order(OrderSide::Bid, P, 1, OrderType::PostOnly);
    ctx.place(&m, &alice, bid).await.unwrap();
    assert_perps_error(
        ctx.send(&[close.clone()], &[&alice.keypair]).await,
        PerpsError::PositionHasOpenOrders,
    );
    let sell = PlaceOrderArgs {
        side: OrderSide::Ask,
        order_type: OrderType::ImmediateOrCancel,
        ..bid
    };
    ctx.place(&m, &bob, sell).await.unwrap();
    assert_perps_error(
        ctx.send(&[close.clone()], &[&alice.keypair]).await,
        PerpsError::PositionNotFlat,
    );

    let by_stranger = ix::with_account(
        ix::close_position(&mallory.pubkey(), &m.market, &m.registry),
        &pda::position(&m.market, &mallory.pubkey()),
        &pda::position(&m.market, &alice.pubkey()),
    );
    assert_perps_error(
        ctx.send(&[by_stranger], &[&mallory.keypair]).await,
        PerpsError::Unauthorized,
    );

    // Flat again (Bob buys the lot back), everything withdrawn: now it closes.
    ctx.cross(&m, &alice, &bob, OrderSide::Bid, P, 1).await;
    let collateral = ctx.position(&m.market, &alice.pubkey()).await.collateral as u64;
    ctx.withdraw(&m, &alice, collateral).await.unwrap();
    ctx.send(&[close], &[&alice.keypair]).await.unwrap();
    assert!(ctx
        .account(&pda::position(&m.market, &alice.pubkey()))
        .await
        .is_none());
}

#[tokio::test]
async fn anyone_funds_the_insurance_vault() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let donor = ctx.wallet(500 * USDC).await;
    ctx.send(
        &[ix::fund_insurance(
            &donor.pubkey(),
            &m.market,
            &donor.token,
            200 * USDC,
        )],
        &[&donor.keypair],
    )
    .await
    .unwrap();
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 200 * USDC);
    assert_eq!(ctx.token_balance(&donor.token).await, 300 * USDC);
    assert_eq!(ctx.token_balance(&m.collateral_vault).await, 0);
}

#[tokio::test]
async fn fund_insurance_rejects_bad_inputs_and_changes_nothing() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let donor = ctx.wallet(500 * USDC).await;
    let fund = |amount| ix::fund_insurance(&donor.pubkey(), &m.market, &donor.token, amount);
    assert_perps_error(
        ctx.send(&[fund(0)], &[&donor.keypair]).await,
        PerpsError::ZeroAmount,
    );
    assert_perps_error(
        ctx.send(&[fund(500 * USDC + 1)], &[&donor.keypair]).await,
        PerpsError::InsufficientFunds,
    );
    let wrong_vault = ix::with_account(fund(USDC), &m.insurance_vault, &m.collateral_vault);
    assert_perps_error(
        ctx.send(&[wrong_vault], &[&donor.keypair]).await,
        PerpsError::WrongVault,
    );
    let other_mint = ctx.create_mint().await;
    let foreign = ctx
        .create_token_account_of(&other_mint, &donor.pubkey())
        .await;
    let wrong_mint = ix::fund_insurance(&donor.pubkey(), &m.market, &foreign, USDC);
    assert_perps_error(
        ctx.send(&[wrong_mint], &[&donor.keypair]).await,
        PerpsError::InvalidMint,
    );
    // Someone else's token account.
    let thief = ctx.wallet(0).await;
    let steal = ix::fund_insurance(&thief.pubkey(), &m.market, &donor.token, USDC);
    assert_perps_error(
        ctx.send(&[steal], &[&thief.keypair]).await,
        PerpsError::Unauthorized,
    );
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 0);
    assert_eq!(ctx.token_balance(&donor.token).await, 500 * USDC);
}

#[tokio::test]
async fn a_settled_market_values_withdrawals_at_its_settlement_price() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    alice_long_100_lots(&mut ctx, &m, &alice).await;
    ctx.set_price(&m.oracle, btc(59_000), 0).await.unwrap();
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    // An hour later the oracle is stale and moved; the settlement price (59) still holds:
    // equity 1,000.60 − 100 = 900.60, IM 59: 841.60 USDC free.
    ctx.advance_clock(3_600).await;
    assert_perps_error(
        ctx.withdraw(&m, &alice, 841_600_001).await,
        PerpsError::WithdrawalBelowInitialMargin,
    );
    ctx.withdraw(&m, &alice, 841_600_000).await.unwrap();
    ctx.assert_vault_matches_positions(&m).await;
}
