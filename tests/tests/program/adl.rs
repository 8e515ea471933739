//! Auto-deleveraging end to end: a crash, a bankrupt liquidation the insurance vault cannot
//! cover, the market's ADL book taking the position over, a permissionless sweep ranking every
//! registered position, and ADL down that ranking against the most profitable, most leveraged
//! shorts at the book's bankruptcy price.

use perps::error::PerpsError;
use perps_client::events::PerpsEvent;
use perps_client::{
    adl::{self as keeper, next_adl_step, AdlStep},
    instructions as ix, pda, OrderSide,
};
use perps_engine::Price;
use perps_testkit::*;

const P: u64 = 60 * USDC;

/// What a keeper would send next for `m` (`perps_client::adl::next_adl_step` at the feed's price).
pub(crate) async fn next_step(ctx: &mut TestContext, m: &MarketFixture) -> AdlStep {
    let market = ctx.market(&m.market).await;
    let registry = ctx.registry(&m.registry).await;
    let positions = ctx.positions_of(m).await;
    let price = ctx.oracle_price(m, &market).await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    next_adl_step(&m.keys(), &market, &registry, &positions, price, insurance)
}

/// Ranks the current sweep as the keeper would (every chunk it asks for); returns how many
/// transactions that took. Panics unless the keeper's next step is ranking.
pub(crate) async fn rank_sweep(ctx: &mut TestContext, m: &MarketFixture) -> usize {
    match next_step(ctx, m).await {
        AdlStep::Rank(chunks) => {
            for chunk in &chunks {
                ctx.send(std::slice::from_ref(chunk), &[])
                    .await
                    .expect("rank_adl_candidates");
            }
            let registry = ctx.registry(&m.registry).await;
            assert!(registry.header.is_ranked(), "the sweep is ranked");
            chunks.len()
        }
        other => panic!("expected ranking chunks, got {other:?}"),
    }
}

pub(crate) struct Crash {
    pub ctx: TestContext,
    pub m: MarketFixture,
    pub alice: Wallet,
    pub bob: Wallet,
    pub carol: Wallet,
    pub dave: Wallet,
    pub erin: Wallet,
    pub deposits: u64,
}

/// Alice is 100 lots long from 60 on 100 USDC; Bob (100 USDC, 40 lots), Carol (1,000 USDC,
/// 40 lots) and Dave (450 USDC, 20 lots: a little more leveraged than Carol) are short against
/// her; Erin is a liquidator. The price falls to 57: Alice is 200 USDC under water and the
/// insurance vault holds only fees.
pub(crate) async fn crash() -> Crash {
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

/// Erin liquidates Alice: the vault pays what it holds above its floor and the market's ADL
/// book takes her 100 lots over, leaving her position empty.
/// Erin liquidates Alice, bankrupt beyond the vault: the ADL book takes her over. Returns the
/// liquidation's events.
pub(crate) async fn liquidate_alice(c: &mut Crash) -> Vec<PerpsEvent> {
    let target = pda::position(&c.m.market, &c.alice.pubkey());
    let events = c
        .ctx
        .send_with_events(
            &[ix::liquidate(&c.erin.pubkey(), &c.m.keys(), &target)],
            &[&c.erin.keypair],
        )
        .await
        .unwrap();
    let market = c.ctx.market(&c.m.market).await;
    assert!(
        market.is_adl_pending(),
        "the vault could not cover the deficit"
    );
    assert_eq!(market.adl_book.base_lots, 100);
    let a = c.ctx.position(&c.m.market, &c.alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));
    events
}

pub(crate) fn key(c: &Crash, w: &Wallet) -> anchor_lang::prelude::Pubkey {
    pda::position(&c.m.market, &w.pubkey())
}

/// The ADL book's bankruptcy price (a long book's: positive here).
fn book_bankruptcy_price(market: &perps::state::Market) -> u64 {
    let pb = market.adl_book.state().signed_bankruptcy_price().unwrap().0;
    u64::try_from(pb).unwrap()
}

#[tokio::test]
async fn a_crash_is_deleveraged_down_the_on_chain_ranking_against_the_most_profitable_most_leveraged_shorts(
) {
    let mut c = crash().await;
    let sequence = c.ctx.market(&c.m.market).await.event_sequence;
    let events = liquidate_alice(&mut c).await;
    let market = c.ctx.market(&c.m.market).await;
    let pb = book_bankruptcy_price(&market);
    // Her bankruptcy, the book taking her over, the market entering ADL and sweep 1 starting
    // at the oracle: four events in a row.
    match &events[..] {
        [PerpsEvent::Bankruptcy(bankruptcy), PerpsEvent::AdlBookTakeover(takeover), PerpsEvent::AdlStarted(started), PerpsEvent::AdlRankingStarted(sweep)] =>
        {
            assert_eq!(
                (bankruptcy.lots, takeover.lots, started.lots),
                (100, 100, 100)
            );
            assert_eq!(takeover.book_bankruptcy_price, pb as i64);
            assert_eq!((sweep.sweep, sweep.snapshot_price), (1, 57 * USDC));
        }
        _ => panic!("{} events, not the takeover's four", events.len()),
    }
    let sequence = assert_sequenced(&events, &c.m.market, sequence);
    // Alice's collateral (100.60 with her maker rebates, plus what insurance paid) against a
    // 6,000 USDC cost basis: the book's bankruptcy price is about 59 USDC a lot, above the
    // oracle's 57.
    assert!(pb > 58 * USDC && pb < 60 * USDC, "bankruptcy price {pb}");

    // The keeper ranks with the engine: Bob (10× effective leverage) first, then Dave, then
    // Carol; lights by the share of short size ranked at or above: 40% → 4, 60% → 3, 100% → 1.
    let positions = c.ctx.positions_of(&c.m).await;
    let ranked = keeper::rank_positions(&market, &positions, Price(57 * USDC));
    let shorts: Vec<_> = ranked
        .iter()
        .filter(|r| r.side == perps_engine::PositionSide::Short)
        .collect();
    let expected = [key(&c, &c.bob), key(&c, &c.dave), key(&c, &c.carol)];
    assert_eq!(shorts.iter().map(|r| r.key).collect::<Vec<_>>(), expected);
    assert_eq!(
        shorts.iter().map(|r| r.indicator).collect::<Vec<_>>(),
        [4, 3, 1]
    );
    // Nothing fills before the sweep has ranked every registered position.
    assert_perps_error(
        c.ctx.send(&[ix::adl(&c.m.keys(), &expected)], &[]).await,
        PerpsError::RankingIncomplete,
    );
    // One ranking transaction covers the market's six registered positions (Alice's, empty,
    // included); the program's ranking is the keeper's, with the same lights.
    assert_eq!(rank_sweep(&mut c.ctx, &c.m).await, 1);
    let registry = c.ctx.registry(&c.m.registry).await;
    let on_chain = keeper::on_chain_ranking(&registry);
    assert_eq!(on_chain.iter().map(|r| r.key).collect::<Vec<_>>(), expected);
    assert_eq!(
        on_chain.iter().map(|r| r.indicator).collect::<Vec<_>>(),
        [4, 3, 1]
    );
    assert_eq!(
        (
            registry.header.eligible_count,
            registry.header.eligible_lots
        ),
        (3, 100)
    );
    let AdlStep::Fill(steps) = next_step(&mut c.ctx, &c.m).await else {
        panic!("the keeper fills once the sweep is ranked");
    };
    assert_eq!(steps.len(), 1);
    let before = c.ctx.collaterals(&c.m, &[&c.bob, &c.dave, &c.carol]).await;
    let insurance_before = c.ctx.token_balance(&c.m.insurance_vault).await;
    // Permissionless: the transaction's fee payer is the only signer.
    let events = c.ctx.send_with_events(&steps, &[]).await.unwrap();
    // A fill per short, each with its rank in the complete ranking and its haircut; Bob's bid
    // cancelled with his fill; the book closed last. Numbered after the takeover's events.
    let mut fills = Vec::new();
    for event in &events {
        match event {
            PerpsEvent::AdlFilled(fill) => {
                assert_eq!((fill.price, fill.sweep), (pb as i64, 1));
                assert_eq!(fill.haircut, fill.lots * (pb - 57 * USDC));
                fills.push((fill.candidate, fill.lots, fill.rank));
            }
            PerpsEvent::OrderCancelled(cancelled) => {
                assert_eq!(
                    (cancelled.position, cancelled.lots, cancelled.reason),
                    (key(&c, &c.bob), 200, perps_client::CancelReason::ByAdl)
                );
            }
            PerpsEvent::AdlCompleted(_) => {}
            _ => panic!("an event ADL does not emit"),
        }
    }
    assert_eq!(
        fills,
        vec![
            (expected[0], 40, 1),
            (expected[1], 20, 2),
            (expected[2], 40, 3)
        ]
    );
    assert!(matches!(events.last(), Some(PerpsEvent::AdlCompleted(_))));
    assert_eq!(
        assert_sequenced(&events, &c.m.market, sequence),
        sequence + 5
    );

    // Every short closed at the bankruptcy price, without fees: each gave up (pb − 57) a lot of
    // the profit it had at the oracle.
    let market = c.ctx.market(&c.m.market).await;
    assert!(!market.is_adl_pending());
    assert_eq!(
        (market.adl_book.base_lots, market.adl_book.collateral),
        (0, 0)
    );
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
    // The book's dust (under one atom a lot) went to insurance.
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
}

#[tokio::test]
async fn adl_fills_strictly_down_the_ranking_and_may_take_several_transactions() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    rank_sweep(&mut c.ctx, &c.m).await;
    let (bob, carol, dave) = (key(&c, &c.bob), key(&c, &c.carol), key(&c, &c.dave));
    // Carol and Dave without Bob, who ranks first: refused, nothing filled.
    assert_perps_error(
        c.ctx
            .send(&[ix::adl(&c.m.keys(), &[carol, dave])], &[])
            .await,
        PerpsError::AdlOutOfRankingOrder,
    );
    assert_eq!(c.ctx.market(&c.m.market).await.adl_book.base_lots, 100);
    // Rank by rank, one transaction each: 40, then 20, then the last 40.
    for (candidate, book_left) in [(bob, 60), (dave, 40)] {
        c.ctx
            .send(&[ix::adl(&c.m.keys(), &[candidate])], &[])
            .await
            .unwrap();
        assert_eq!(
            c.ctx.market(&c.m.market).await.adl_book.base_lots,
            book_left
        );
        c.ctx.assert_vault_matches_positions(&c.m).await;
    }
    assert_eq!(c.ctx.registry(&c.m.registry).await.header.fill_cursor, 2);
    for w in [&c.bob, &c.dave] {
        assert_eq!(c.ctx.position(&c.m.market, &w.pubkey()).await.base_lots, 0);
    }
    assert_eq!(
        c.ctx
            .position(&c.m.market, &c.carol.pubkey())
            .await
            .base_lots,
        -40
    );
    c.ctx
        .send(&[ix::adl(&c.m.keys(), &[carol])], &[])
        .await
        .unwrap();
    assert!(!c.ctx.market(&c.m.market).await.is_adl_pending());
    c.ctx.assert_vault_matches_positions(&c.m).await;
    // Nothing left to deleverage, nor to rank.
    let again = ix::adl(&c.m.keys(), &[carol]);
    assert_perps_error(c.ctx.send(&[again], &[]).await, PerpsError::NoAdlPending);
    let rank = ix::rank_adl_candidates(&c.m.keys(), 0, 1, &[key(&c, &c.alice)]);
    assert_perps_error(c.ctx.send(&[rank], &[]).await, PerpsError::NoAdlPending);
}

#[tokio::test]
async fn the_sweep_ranks_only_profitable_positions_of_the_other_side_and_adl_refuses_the_rest_by_name(
) {
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
    let stranger = pda::position(&other.market, &stranger.pubkey());
    // The registry holds Alice, Bob, Carol, Dave, Erin and Frank in slots 0–5: a chunk that
    // swaps Frank for a position of another market, or adds one, is refused.
    let registered: Vec<_> = c
        .ctx
        .registry(&c.m.registry)
        .await
        .positions()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(registered.len(), 6);
    let mut swapped = registered.clone();
    swapped[5] = stranger;
    let mut added = registered.clone();
    added.push(stranger);
    for chunk in [swapped, added] {
        let rank = ix::rank_adl_candidates(&c.m.keys(), 0, 6, &chunk);
        assert_perps_error(
            c.ctx.send(&[rank], &[]).await,
            PerpsError::RankingChunkMismatch,
        );
    }
    rank_sweep(&mut c.ctx, &c.m).await;
    // Erin (long, the book's side), Frank (losing) and Alice (empty) are not ranked.
    let registry = c.ctx.registry(&c.m.registry).await;
    let ranking: Vec<_> = registry
        .header
        .unfilled()
        .iter()
        .map(|r| r.position)
        .collect();
    assert_eq!(
        ranking,
        [key(&c, &c.bob), key(&c, &c.dave), key(&c, &c.carol)]
    );
    assert_eq!(registry.header.eligible_count, 3);
    // Presented to `adl`, none of them is the ranking's next, nor is a stranger, nor Bob twice.
    for candidates in [
        vec![key(&c, &c.erin)],
        vec![key(&c, &frank)],
        vec![stranger],
        vec![key(&c, &c.bob), key(&c, &c.bob)],
    ] {
        let adl = ix::adl(&c.m.keys(), &candidates);
        assert_perps_error(
            c.ctx.send(&[adl], &[]).await,
            PerpsError::AdlOutOfRankingOrder,
        );
    }
    assert_eq!(c.ctx.market(&c.m.market).await.adl_book.base_lots, 100);
    assert_eq!(
        c.ctx.position(&c.m.market, &c.bob.pubkey()).await.base_lots,
        -40
    );
    c.ctx.assert_vault_matches_positions(&c.m).await;
}

#[tokio::test]
async fn a_deposit_after_the_takeover_stays_the_owners_and_the_book_still_closes() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    let figures = |b: &perps::state::Position| (b.base_lots, b.cost_basis, b.collateral);
    let book = figures(&c.ctx.market(&c.m.market).await.adl_book);
    // Alice tops up 300 USDC: it goes into her own, empty position, not into the book she lost.
    c.ctx.mint_to(&c.alice.token, 300 * USDC).await;
    c.ctx.deposit(&c.m, &c.alice, 300 * USDC).await.unwrap();
    assert_eq!(figures(&c.ctx.market(&c.m.market).await.adl_book), book);
    let run = c.ctx.run_adl(&c.m).await;
    assert_eq!((run.sweeps, run.rank_transactions), (1, 1));
    assert!(!c.ctx.market(&c.m.market).await.is_adl_pending());
    // The shorts were deleveraged as without her deposit; she keeps it and may take it back.
    for w in [&c.bob, &c.dave, &c.carol] {
        assert_eq!(c.ctx.position(&c.m.market, &w.pubkey()).await.base_lots, 0);
    }
    c.ctx.withdraw(&c.m, &c.alice, 300 * USDC).await.unwrap();
    assert_eq!(c.ctx.token_balance(&c.alice.token).await, 300 * USDC);
    c.ctx.assert_vault_matches_positions(&c.m).await;
}
