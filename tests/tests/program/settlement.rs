//! Market settlement (issue 15, DESIGN.md §11): once the admin settles a market, the
//! permissionless `settle_position` closes each position at the settlement price (funding first,
//! orders cancelled, no fee), every owner withdraws everything and closes the account, and the
//! collateral vault ends at exactly zero: what the market held is then exactly in the insurance
//! vault and the treasury.

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps::state::{MarketStatus, Position};
use perps_client::{accounts as decode, instructions as ix, pda, OrderSide, OrderType};
use perps_engine::{funding, SignedLots};
use perps_testkit::*;

const P: u64 = 60 * USDC;

async fn position_at(ctx: &mut TestContext, key: &Pubkey) -> Position {
    let account = ctx.account(key).await.expect("position");
    decode::position(&account.data).expect("decode position")
}

/// The maker of an even pair bids (the long rests), of an odd one asks (the short rests).
async fn pair(
    ctx: &mut TestContext,
    m: &MarketFixture,
    long: &Wallet,
    short: &Wallet,
    i: u64,
    price: u64,
    lots: u64,
) {
    if i % 2 == 0 {
        ctx.cross(m, long, short, OrderSide::Ask, price, lots).await;
    } else {
        ctx.cross(m, short, long, OrderSide::Bid, price, lots).await;
    }
}

#[tokio::test]
async fn a_settled_market_of_50_positions_settles_every_one_and_its_vault_ends_at_zero() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    let mut longs = Vec::new();
    let mut shorts = Vec::new();
    for i in 0..25u64 {
        longs.push(ctx.funded_position(&m, (500 + 37 * i) * USDC, 0).await);
        shorts.push(ctx.funded_position(&m, (400 + 53 * i) * USDC, 0).await);
    }
    // Two rounds of fills at varied prices and sizes: long i against short i, then against
    // short i + 7 (so no two positions end the same).
    for i in 0..25u64 {
        let price = 59_700_000 + 30_000 * i;
        pair(
            &mut ctx,
            &m,
            &longs[i as usize],
            &shorts[i as usize],
            i,
            price,
            1 + (i * 7) % 23,
        )
        .await;
    }
    for i in 0..25u64 {
        let j = ((i + 7) % 25) as usize;
        let price = 60_300_000 - 20_000 * i;
        pair(
            &mut ctx,
            &m,
            &longs[i as usize],
            &shorts[j],
            i + 1,
            price,
            2 + (i * 5) % 11,
        )
        .await;
    }
    // Resting orders on some positions, away from the oracle.
    for i in (0..25).step_by(4) {
        let bid = order(OrderSide::Bid, 58 * USDC, 5, OrderType::PostOnly);
        ctx.place(&m, &longs[i], bid).await.unwrap();
        let ask = order(OrderSide::Ask, 62_500_000, 3, OrderType::PostOnly);
        ctx.place(&m, &shorts[i], ask).await.unwrap();
    }
    // The last long bids 400 lots at 60.20 (impact size, 0.33% over the oracle) for an hour:
    // the crank moves the index at the 0.1% cap of an oracle of 60.123456, 60,123.456 atoms a
    // lot, so no position's funding is whole atoms. Nobody settles it before the market does.
    let whale_bid = order(OrderSide::Bid, 60_200_000, 400, OrderType::PostOnly);
    ctx.place(&m, &longs[24], whale_bid).await.unwrap();
    ctx.advance_clock(3_600).await;
    ctx.set_price(&m.oracle, 6_012_345_678_900, 0)
        .await
        .unwrap();
    ctx.send(&[ix::crank_funding(&m.keys())], &[])
        .await
        .unwrap();
    assert_eq!(ctx.market(&m.market).await.funding_index, 60_123_456_000);
    ctx.assert_vault_matches_positions(&m).await;

    // Settled at 61.234567.
    ctx.set_price(&m.oracle, 6_123_456_789_000, 0)
        .await
        .unwrap();
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.settlement_price, 61_234_567);
    assert!(market.open_interest_long > 0);
    let positions = ctx.positions_of(&m).await;
    assert_eq!(positions.len(), 50);
    assert_eq!(
        positions
            .iter()
            .filter(|(_, p)| p.has_open_orders())
            .count(),
        14,
        "longs and shorts 0, 4, ..., 24 (the last long's bids among them)"
    );
    // What settlement will sweep, computed: the residue now plus each position's funding
    // rounding at the frozen index. Long lots equal short lots, so it is whole atoms.
    let residue: i128 = market.funding_residue as i128
        + positions
            .iter()
            .map(|(_, p)| {
                let delta = market.funding_index - p.funding_index_snapshot;
                funding::funding_owed(SignedLots(p.base_lots), delta)
                    .unwrap()
                    .1
            })
            .sum::<i128>();
    assert_eq!(residue % funding::FUNDING_INDEX_SCALE, 0);
    let swept = (residue / funding::FUNDING_INDEX_SCALE) as u64;
    assert!(swept > 0, "funding rounding to sweep");
    let vault_before = ctx.token_balance(&m.collateral_vault).await;
    let insurance_before = ctx.token_balance(&m.insurance_vault).await;
    let treasury_before = ctx.token_balance(&m.treasury).await;

    // A keeper's loop: every position with lots or orders, by anyone (the fee payer alone).
    let mut settled = 0;
    for (key, p) in &positions {
        if p.base_lots != 0 || p.has_open_orders() {
            ctx.send(&[ix::settle_position(&m.keys(), key)], &[])
                .await
                .expect("settle_position");
            settled += 1;
            let after = position_at(&mut ctx, key).await;
            assert_eq!((after.base_lots, after.cost_basis), (0, 0));
            assert!(!after.has_open_orders());
            assert_eq!(after.funding_index_snapshot, market.funding_index);
            if settled % 10 == 0 {
                ctx.assert_vault_matches_positions(&m).await;
            }
        }
    }
    assert_eq!(settled, 50);
    let market = ctx.market(&m.market).await;
    assert_eq!(
        (
            market.open_interest_long,
            market.open_interest_short,
            market.funding_residue
        ),
        (0, 0, 0)
    );
    assert!(ctx
        .order_book(&m.order_book)
        .await
        .book
        .side(perps_engine::OrderSide::Bid)
        .orders()
        .is_empty());
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance_before + swept
    );
    // Every position's collateral is what the vault holds: nothing made, nothing lost.
    let positions = ctx.positions_of(&m).await;
    let held: i64 = positions.iter().map(|(_, p)| p.collateral).sum();
    assert_eq!(held as u64 + swept, vault_before);
    assert_eq!(held as u64, ctx.token_balance(&m.collateral_vault).await);
    ctx.assert_vault_matches_positions(&m).await;
    // Twice: nothing left to do.
    assert_perps_error(
        ctx.send(&[ix::settle_position(&m.keys(), &positions[0].0)], &[])
            .await,
        PerpsError::FlatPosition,
    );

    // Every owner withdraws everything and closes the account.
    for wallet in longs.iter().chain(&shorts) {
        let position = ctx.position(&m.market, &wallet.pubkey()).await;
        assert!(position.collateral > 0);
        let before = ctx.token_balance(&wallet.token).await;
        ctx.withdraw(&m, wallet, position.collateral as u64)
            .await
            .unwrap();
        assert_eq!(
            ctx.token_balance(&wallet.token).await,
            before + position.collateral as u64
        );
        let close = ix::close_position(&wallet.pubkey(), &m.market, &m.registry);
        ctx.send(&[close], &[&wallet.keypair]).await.unwrap();
        assert!(ctx
            .account(&pda::position(&m.market, &wallet.pubkey()))
            .await
            .is_none());
    }
    assert_eq!(ctx.token_balance(&m.collateral_vault).await, 0);
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance_before + swept
    );
    assert_eq!(ctx.token_balance(&m.treasury).await, treasury_before);
    assert_eq!(ctx.registry(&m.registry).await.header.count, 0);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn settle_position_refuses_an_unsettled_market_and_another_markets_position() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    ctx.cross(&m, &alice, &bob, OrderSide::Ask, P, 10).await;
    let alice_position = pda::position(&m.market, &alice.pubkey());
    // Still trading.
    assert_perps_error(
        ctx.send(&[ix::settle_position(&m.keys(), &alice_position)], &[])
            .await,
        PerpsError::MarketNotSettled,
    );
    assert_eq!(position_at(&mut ctx, &alice_position).await.base_lots, 10);
    // A position of another market, named with this (settled) market's accounts.
    let other = ctx.create_market().await;
    let carol = ctx.funded_position(&other, 100 * USDC, 0).await;
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    let carol_position = pda::position(&other.market, &carol.pubkey());
    assert_perps_error(
        ctx.send(&[ix::settle_position(&m.keys(), &carol_position)], &[])
            .await,
        PerpsError::WrongMarket,
    );
    // Settled at 60, where they opened: each keeps its collateral, less its fee.
    for (wallet, position) in [
        (&alice, alice_position),
        (&bob, pda::position(&m.market, &bob.pubkey())),
    ] {
        let before = position_at(&mut ctx, &position).await.collateral;
        ctx.send(&[ix::settle_position(&m.keys(), &position)], &[])
            .await
            .unwrap();
        assert_eq!(position_at(&mut ctx, &position).await.collateral, before);
        ctx.withdraw(&m, wallet, before as u64).await.unwrap();
    }
    assert_eq!(ctx.token_balance(&m.collateral_vault).await, 0);
    ctx.assert_vault_matches_positions(&m).await;
}
