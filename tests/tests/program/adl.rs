//! Auto-deleveraging end to end: a crash, a bankrupt liquidation the insurance vault cannot
//! cover, and ADL against the most profitable, most leveraged shorts at the bankruptcy price.

use perps::error::PerpsError;
use perps_client::{adl as keeper, instructions as ix, pda, OrderSide};
use perps_engine::Price;
use perps_testkit::*;

const P: u64 = 60 * USDC;

struct Crash {
    ctx: TestContext,
    m: MarketFixture,
    alice: Wallet,
    bob: Wallet,
    carol: Wallet,
    dave: Wallet,
    erin: Wallet,
    deposits: u64,
}

/// Alice is 100 lots long from 60 on 100 USDC; Bob (100 USDC, 40 lots), Carol (1,000 USDC,
/// 40 lots) and Dave (450 USDC, 20 lots: a little more leveraged than Carol) are short against her; Erin is a liquidator. The price
/// falls to 57: Alice is 200 USDC under water and the insurance vault holds only fees.
async fn crash() -> Crash {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 100 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let dave = ctx.funded_position(&m, 450 * USDC, 0).await;
    let erin = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    for (short, lots) in [(&bob, 40), (&carol, 40), (&dave, 20)] {
        ctx.cross(&m, &alice, short, OrderSide::Ask, P, lots).await;
    }
    // Bob also bids 200 lots at 57.50: at 60 his worst case (160 lots) needs 96 of his 98.80 USDC.
    let bid = perps_client::PlaceOrderArgs {
        client_order_id: 7,
        ..order(
            OrderSide::Bid,
            57_500_000,
            200,
            perps_client::OrderType::PostOnly,
        )
    };
    ctx.place(&m, &bob, bid).await.unwrap();
    ctx.set_price(&m.oracle, btc(57_000), 0).await.unwrap();
    let deposits = 100 * USDC + 100 * USDC + 1_000 * USDC + 450 * USDC + 5_000 * USDC;
    Crash {
        ctx,
        m,
        alice,
        bob,
        carol,
        dave,
        erin,
        deposits,
    }
}

async fn liquidate_alice(c: &mut Crash) {
    c.ctx.liquidate(&c.m, &c.erin, &c.alice).await.unwrap();
    let market = c.ctx.market(&c.m.market).await;
    assert_eq!(
        market.adl_pending, 1,
        "the vault could not cover the deficit"
    );
    assert_eq!(market.adl_lots, 100);
}

fn key(c: &Crash, w: &Wallet) -> anchor_lang::prelude::Pubkey {
    pda::position(&c.m.market, &w.pubkey())
}

#[tokio::test]
async fn a_crash_is_deleveraged_against_the_most_profitable_most_leveraged_shorts() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    let market = c.ctx.market(&c.m.market).await;
    let pb = market.adl_bankruptcy_price as u64;
    // Alice's collateral (100.60 with her maker rebates, plus what insurance paid) against a
    // 6,000 USDC cost basis: the bankruptcy price is about 59 USDC a lot, above the oracle's 57.
    assert!(pb > 58 * USDC && pb < 60 * USDC, "bankruptcy price {pb}");

    // The keeper ranks with the engine: Bob (10× effective leverage) first, then Dave, then
    // Carol; lights by the share of short size ranked at or above: 40% → 4, 60% → 3, 100% → 1.
    let positions = c.ctx.positions_of(&c.m).await;
    let ranked = keeper::rank_positions(&market, &positions, Price(57 * USDC));
    let shorts: Vec<_> = ranked
        .iter()
        .filter(|r| r.side == perps_engine::PositionSide::Short)
        .collect();
    assert_eq!(
        shorts.iter().map(|r| r.key).collect::<Vec<_>>(),
        [key(&c, &c.bob), key(&c, &c.dave), key(&c, &c.carol)]
    );
    assert_eq!(
        shorts.iter().map(|r| r.indicator).collect::<Vec<_>>(),
        [4, 3, 1]
    );
    let insurance = c.ctx.token_balance(&c.m.insurance_vault).await;
    let instructions = keeper::adl_instructions(
        &c.m.keys(),
        &market,
        &positions,
        Price(57 * USDC),
        insurance,
    );
    assert_eq!(instructions.len(), 1);
    let before = c.ctx.collaterals(&c.m, &[&c.bob, &c.dave, &c.carol]).await;
    let insurance_before = c.ctx.token_balance(&c.m.insurance_vault).await;
    // Permissionless: the transaction's fee payer is the only signer.
    c.ctx.send(&instructions, &[]).await.unwrap();

    // Every short closed at the bankruptcy price, without fees: each gave up (pb − 57) a lot of
    // the profit it had at the oracle.
    let market = c.ctx.market(&c.m.market).await;
    assert_eq!((market.adl_pending, market.adl_lots), (0, 0));
    for (i, (w, lots)) in [(&c.bob, 40i64), (&c.dave, 20), (&c.carol, 40)]
        .into_iter()
        .enumerate()
    {
        let p = c.ctx.position(&c.m.market, &w.pubkey()).await;
        assert_eq!((p.base_lots, p.cost_basis), (0, 0));
        assert_eq!(
            p.collateral - before[i],
            lots * (P as i64 - pb as i64),
            "short closed at pb"
        );
    }
    let a = c.ctx.position(&c.m.market, &c.alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));
    // Deleveraged, Bob's 200-lot bid (2% of 11,400 USDC at 57) is beyond his margin: cancelled.
    let b = c.ctx.position(&c.m.market, &c.bob.pubkey()).await;
    assert_eq!((b.open_bid_lots, b.open_order_count), (0, 0));
    assert!(c
        .ctx
        .order_book(&c.m.order_book)
        .await
        .book
        .bids
        .orders()
        .is_empty());
    // Alice's dust (under one atom a lot) went to insurance.
    assert!(c.ctx.token_balance(&c.m.insurance_vault).await - insurance_before < 100);

    // Solvency: vault = Σ equity, long = short, and equity + insurance + treasury = deposits.
    c.ctx.assert_vault_matches_positions(&c.m).await;
    let mut equity = 0i128;
    for (_, p) in c.ctx.positions_of(&c.m).await {
        equity +=
            p.collateral as i128 + p.base_lots as i128 * 57 * USDC as i128 - p.cost_basis as i128;
    }
    let insurance = c.ctx.token_balance(&c.m.insurance_vault).await as i128;
    let treasury = c.ctx.token_balance(&c.m.treasury).await as i128;
    assert_eq!(equity + insurance + treasury, c.deposits as i128);
    let _ = &c.erin;
}

#[tokio::test]
async fn adl_sorts_what_it_is_given_and_may_take_several_transactions() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    // Only Carol and Dave, in the wrong order: Dave ranks higher and is filled first (all 20),
    // then Carol (40); 40 lots remain for a later transaction.
    let partial = ix::adl(
        &c.m.keys(),
        &key(&c, &c.alice),
        &[key(&c, &c.carol), key(&c, &c.dave)],
    );
    c.ctx.send(&[partial], &[]).await.unwrap();
    let market = c.ctx.market(&c.m.market).await;
    assert_eq!((market.adl_pending, market.adl_lots), (1, 40));
    assert_eq!(
        c.ctx
            .position(&c.m.market, &c.dave.pubkey())
            .await
            .base_lots,
        0
    );
    assert_eq!(
        c.ctx
            .position(&c.m.market, &c.carol.pubkey())
            .await
            .base_lots,
        0
    );
    assert_eq!(
        c.ctx
            .position(&c.m.market, &c.alice.pubkey())
            .await
            .base_lots,
        40
    );
    c.ctx.assert_vault_matches_positions(&c.m).await;
    let rest = ix::adl(&c.m.keys(), &key(&c, &c.alice), &[key(&c, &c.bob)]);
    c.ctx.send(&[rest], &[]).await.unwrap();
    assert_eq!(c.ctx.market(&c.m.market).await.adl_pending, 0);
    c.ctx.assert_vault_matches_positions(&c.m).await;
    // Nothing left to deleverage.
    let again = ix::adl(&c.m.keys(), &key(&c, &c.alice), &[key(&c, &c.bob)]);
    assert_perps_error(c.ctx.send(&[again], &[]).await, PerpsError::NoAdlPending);
}

#[tokio::test]
async fn adl_rejects_ineligible_candidates_by_name() {
    let mut c = crash().await;
    // Frank shorts 1 lot at 56 from Erin (Bob's bid out of the way): at 57 he is losing, and
    // Erin is long like Alice.
    let cancel = ix::cancel_all_orders(&c.bob.pubkey(), &c.m.keys());
    c.ctx.send(&[cancel], &[&c.bob.keypair]).await.unwrap();
    let frank = c.ctx.funded_position(&c.m, 100 * USDC, 0).await;
    c.ctx
        .cross(&c.m, &c.erin, &frank, OrderSide::Ask, 56 * USDC, 1)
        .await;
    liquidate_alice(&mut c).await;
    let other = c.ctx.create_market().await;
    let stranger = c.ctx.funded_position(&other, 0, 0).await;
    let bankrupt = key(&c, &c.alice);
    let cases = [
        (vec![key(&c, &c.erin)], PerpsError::AdlCandidateSameSide),
        (vec![key(&c, &frank)], PerpsError::AdlCandidateNotProfitable),
        (
            vec![pda::position(&other.market, &stranger.pubkey())],
            PerpsError::WrongMarket,
        ),
        (
            vec![key(&c, &c.bob), key(&c, &c.bob)],
            PerpsError::InvalidAdlCandidates,
        ),
        (vec![], PerpsError::InvalidAdlCandidates),
    ];
    for (candidates, expected) in cases {
        let adl = ix::adl(&c.m.keys(), &bankrupt, &candidates);
        assert_perps_error(c.ctx.send(&[adl], &[]).await, expected);
    }
    // A position other than the pending one cannot be presented as the bankrupt.
    let wrong = ix::adl(&c.m.keys(), &key(&c, &c.erin), &[key(&c, &c.bob)]);
    assert_perps_error(
        c.ctx.send(&[wrong], &[]).await,
        PerpsError::WrongAdlPosition,
    );
    assert_eq!(c.ctx.market(&c.m.market).await.adl_lots, 100);
}

#[tokio::test]
async fn a_bankrupt_position_made_solvent_again_leaves_the_queue() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    // Alice tops up 300 USDC: at 57 her equity is positive again.
    c.ctx.mint_to(&c.alice.token, 300 * USDC).await;
    c.ctx.deposit(&c.m, &c.alice, 300 * USDC).await.unwrap();
    let adl = ix::adl(&c.m.keys(), &key(&c, &c.alice), &[key(&c, &c.bob)]);
    c.ctx.send(&[adl], &[]).await.unwrap();
    let market = c.ctx.market(&c.m.market).await;
    assert_eq!(market.adl_pending, 0);
    // Nobody was deleveraged; Alice keeps her position, now subject to ordinary liquidation.
    assert_eq!(
        c.ctx.position(&c.m.market, &c.bob.pubkey()).await.base_lots,
        -40
    );
    assert_eq!(
        c.ctx
            .position(&c.m.market, &c.alice.pubkey())
            .await
            .base_lots,
        100
    );
    c.ctx.assert_vault_matches_positions(&c.m).await;
}
