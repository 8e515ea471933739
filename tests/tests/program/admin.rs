//! Guarded admin (issue 15): the exchange is created by the program's upgrade authority only,
//! the admin changes hands in two steps, the treasury and a feed's authority rotate, and an
//! exchange-wide pause stops everything but cancels, withdrawals of idle positions and closing
//! empty accounts.

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps::state::MarketStatus;
use perps_client::{events::PerpsEvent, instructions as ix, pda, OrderSide, OrderType};
use perps_testkit::*;
use solana_signer::Signer;

fn initialize(ctx: &TestContext, admin: &Pubkey) -> solana_instruction::Instruction {
    ix::initialize_exchange(admin, &ctx.mint, &ctx.treasury, default_bounds())
}

#[tokio::test]
async fn only_the_upgrade_authority_initializes_the_exchange() {
    let mut ctx = TestContext::new().await;
    let admin = ctx.admin.pubkey();
    // Someone else holds the upgrade authority: the admin's call is refused.
    ctx.set_upgrade_authority(Some(TestKeypair::new().pubkey()));
    let result = ctx.send_by_admin(initialize(&ctx, &admin)).await;
    assert_perps_error(result, PerpsError::NotUpgradeAuthority);
    // An immutable program (no upgrade authority): nobody may.
    ctx.set_upgrade_authority(None);
    let result = ctx.send_by_admin(initialize(&ctx, &admin)).await;
    assert_perps_error(result, PerpsError::NotUpgradeAuthority);
    // Another account in the program data's place fails Anchor's address check.
    let fake = TestKeypair::new().pubkey();
    let wrong = ix::with_account(initialize(&ctx, &admin), &pda::program_data(), &fake);
    let result = ctx.send_by_admin(wrong).await;
    assert!(
        matches!(result, Err(TxError::InstructionError(0, _))),
        "{result:?}"
    );
    assert!(ctx.account(&pda::exchange()).await.is_none());
    // The upgrade authority itself creates it and becomes the admin.
    ctx.set_upgrade_authority(Some(admin));
    ctx.send_by_admin(initialize(&ctx, &admin)).await.unwrap();
    assert_eq!(ctx.exchange().await.admin, admin);
}

#[tokio::test]
async fn an_admin_transfer_needs_the_proposal_and_the_acceptance() {
    let mut ctx = TestContext::with_exchange().await;
    let old = ctx.admin.insecure_clone();
    let next = ctx.wallet(0).await;
    let stranger = ctx.wallet(0).await;
    // Only the admin proposes.
    let result = ctx
        .send(
            &[ix::propose_admin(&stranger.pubkey(), &stranger.pubkey())],
            &[&stranger.keypair],
        )
        .await;
    assert_perps_error(result, PerpsError::Unauthorized);
    let events = ctx
        .send_with_events(&[ix::propose_admin(&old.pubkey(), &next.pubkey())], &[&old])
        .await
        .unwrap();
    assert!(matches!(
        &events[..],
        [PerpsEvent::AdminProposed(e)] if e.admin == old.pubkey() && e.proposed == next.pubkey()
    ));
    // Proposed, not yet admin: the old admin still rules, and only the proposed key accepts.
    let exchange = ctx.exchange().await;
    assert_eq!(
        (exchange.admin, exchange.pending_admin),
        (old.pubkey(), next.pubkey())
    );
    let result = ctx
        .send(
            &[ix::accept_admin(&stranger.pubkey())],
            &[&stranger.keypair],
        )
        .await;
    assert_perps_error(result, PerpsError::NotPendingAdmin);
    let events = ctx
        .send_with_events(&[ix::accept_admin(&next.pubkey())], &[&next.keypair])
        .await
        .unwrap();
    assert!(matches!(
        &events[..],
        [PerpsEvent::AdminChanged(e)] if e.old_admin == old.pubkey() && e.new_admin == next.pubkey()
    ));
    let exchange = ctx.exchange().await;
    assert_eq!(
        (exchange.admin, exchange.pending_admin),
        (next.pubkey(), Pubkey::default())
    );
    // The old admin is out; accepting again finds nothing pending.
    let result = ctx
        .send_by_admin(ix::set_exchange_paused(&old.pubkey(), true))
        .await;
    assert_perps_error(result, PerpsError::Unauthorized);
    let result = ctx
        .send(&[ix::accept_admin(&next.pubkey())], &[&next.keypair])
        .await;
    assert_perps_error(result, PerpsError::NotPendingAdmin);
    ctx.send(
        &[ix::set_exchange_paused(&next.pubkey(), true)],
        &[&next.keypair],
    )
    .await
    .unwrap();
    assert!(ctx.exchange().await.paused);
}

#[tokio::test]
async fn the_admin_rotates_the_treasury_and_a_feeds_authority() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let admin = ctx.admin.pubkey();
    // A treasury must hold the collateral mint.
    let other_mint = ctx.create_mint().await;
    let wrong = ctx.create_token_account_of(&other_mint, &admin).await;
    let result = ctx.send_by_admin(ix::set_treasury(&admin, &wrong)).await;
    assert_perps_error(result, PerpsError::InvalidTreasury);
    let treasury = ctx.create_token_account(&admin).await;
    ctx.send_by_admin(ix::set_treasury(&admin, &treasury))
        .await
        .unwrap();
    assert_eq!(ctx.exchange().await.treasury, treasury);
    // The feed's authority: only the admin rotates it, and the old key can push no more.
    let stranger = ctx.wallet(0).await;
    let new_authority = ctx.wallet(0).await;
    let result = ctx
        .send(
            &[ix::set_oracle_authority(
                &stranger.pubkey(),
                &m.oracle,
                &stranger.pubkey(),
            )],
            &[&stranger.keypair],
        )
        .await;
    assert_perps_error(result, PerpsError::Unauthorized);
    ctx.send_by_admin(ix::set_oracle_authority(
        &admin,
        &m.oracle,
        &new_authority.pubkey(),
    ))
    .await
    .unwrap();
    let result = ctx.set_price(&m.oracle, 61_000 * 100_000_000, 0).await;
    assert_perps_error(result, PerpsError::Unauthorized);
    ctx.send(
        &[ix::set_price(
            &new_authority.pubkey(),
            &m.oracle,
            61_000 * 100_000_000,
            0,
        )],
        &[&new_authority.keypair],
    )
    .await
    .unwrap();
    assert_eq!(ctx.price_feed(&m.oracle).await.price, 61_000 * 100_000_000);
}

#[tokio::test]
async fn a_paused_exchange_allows_only_cancels_idle_withdrawals_and_closing_empty_accounts() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let admin = ctx.admin.pubkey();
    // Alice long 10 against Bob, with a resting bid; Carol idle with 100 USDC.
    let alice = ctx.funded_position(&m, 10_000 * USDC, 1_000 * USDC).await;
    let bob = ctx.funded_position(&m, 10_000 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 100 * USDC, 0).await;
    ctx.cross(&m, &bob, &alice, OrderSide::Bid, 60 * USDC, 10)
        .await;
    ctx.place(
        &m,
        &alice,
        order(OrderSide::Bid, 59 * USDC, 5, OrderType::PostOnly),
    )
    .await
    .unwrap();
    // Only the admin pauses.
    let result = ctx
        .send(
            &[ix::set_exchange_paused(&carol.pubkey(), true)],
            &[&carol.keypair],
        )
        .await;
    assert_perps_error(result, PerpsError::Unauthorized);
    ctx.send_by_admin(ix::set_exchange_paused(&admin, true))
        .await
        .unwrap();

    // Refused: trading, opening, depositing, withdrawing with risk, and every crank.
    let newcomer = ctx.wallet(100 * USDC).await;
    assert_perps_error(
        ctx.open_position(&m, &newcomer).await,
        PerpsError::ExchangePaused,
    );
    assert_perps_error(
        ctx.place(
            &m,
            &alice,
            order(OrderSide::Ask, 60 * USDC, 1, OrderType::Limit),
        )
        .await,
        PerpsError::ExchangePaused,
    );
    assert_perps_error(
        ctx.deposit(&m, &alice, USDC).await,
        PerpsError::ExchangePaused,
    );
    assert_perps_error(
        ctx.withdraw(&m, &alice, USDC).await,
        PerpsError::ExchangePaused,
    );
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::ExchangePaused,
    );
    let alice_position = pda::position(&m.market, &alice.pubkey());
    let cranks = [
        ix::crank_funding(&m.keys()),
        ix::settle_funding(&m.market, &alice_position),
        ix::adl(&m.keys(), &[]),
        ix::rank_adl_candidates(&m.keys(), 0, 1, &[alice_position]),
        ix::settle_position(&m.keys(), &alice_position),
    ];
    for crank in cranks {
        assert_perps_error(ctx.send(&[crank], &[]).await, PerpsError::ExchangePaused);
    }
    let fund = ix::fund_insurance(&alice.pubkey(), &m.market, &alice.token, USDC);
    assert_perps_error(
        ctx.send(&[fund], &[&alice.keypair]).await,
        PerpsError::ExchangePaused,
    );
    // The admin may still act on markets.
    ctx.set_status(&m, MarketStatus::ReduceOnly).await.unwrap();

    // Allowed: cancelling, withdrawing an idle position, closing an empty account.
    ctx.send(
        &[ix::cancel_all_orders(&alice.pubkey(), &m.keys())],
        &[&alice.keypair],
    )
    .await
    .unwrap();
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey())
            .await
            .open_order_count,
        0
    );
    ctx.withdraw(&m, &carol, 100 * USDC).await.unwrap();
    ctx.send(
        &[ix::close_position(&carol.pubkey(), &m.market, &m.registry)],
        &[&carol.keypair],
    )
    .await
    .unwrap();
    assert!(ctx
        .account(&pda::position(&m.market, &carol.pubkey()))
        .await
        .is_none());

    // Resumed: trading again.
    ctx.send_by_admin(ix::set_exchange_paused(&admin, false))
        .await
        .unwrap();
    ctx.set_status(&m, MarketStatus::Active).await.unwrap();
    ctx.deposit(&m, &alice, USDC).await.unwrap();
    ctx.assert_vault_matches_positions(&m).await;
}
