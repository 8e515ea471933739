//! ADL that no keeper can steer (issue 14), end to end in the bank: the sweep must rank every
//! registered position, exactly and in slot order; `adl` must fill strictly down the ranking; a
//! refusal changes nothing; a ranked position that closes before the fill is passed over; many
//! bankruptcies in one crash join one book whose haircuts pay exactly what the vault could not;
//! and ranking chunks may land in any order, even in one slot, with the same result.

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps_client::{instructions as ix, pda, OrderSide, OrderType};
use perps_testkit::*;
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_instruction::Instruction;

use crate::adl::{crash, key, liquidate_alice, rank_sweep};

const P: u64 = 60 * USDC;

/// Every account an ADL instruction can touch, as raw bytes (token balances included): a refused
/// instruction must leave all of them as they were.
async fn accounts(ctx: &mut TestContext, m: &MarketFixture) -> Vec<(Pubkey, Vec<u8>)> {
    let mut keys = vec![
        m.market,
        m.registry,
        m.order_book,
        m.collateral_vault,
        m.insurance_vault,
    ];
    keys.extend(ctx.positions_of(m).await.into_iter().map(|(k, _)| k));
    let mut out = Vec::new();
    for k in keys {
        let data = ctx.account(&k).await.map(|a| a.data).unwrap_or_default();
        out.push((k, data));
    }
    out
}

/// Sends `instruction` (permissionless), expects `expected`, and checks nothing changed.
async fn refused_without_effect(
    ctx: &mut TestContext,
    m: &MarketFixture,
    instruction: Instruction,
    expected: PerpsError,
) {
    let before = accounts(ctx, m).await;
    assert_perps_error(ctx.send(&[instruction], &[]).await, expected);
    let after = accounts(ctx, m).await;
    for ((key, was), (_, now)) in before.iter().zip(&after) {
        assert!(was == now, "{expected:?}: account {key} changed");
    }
}

/// What the current sweep's ranking records: each entry's position and the lots it may still
/// give (its size when ranked, less what ADL took since), and the next entry to fill.
async fn ranking_of(ctx: &mut TestContext, m: &MarketFixture) -> (Vec<(Pubkey, u64)>, u32) {
    let registry = ctx.registry(&m.registry).await;
    let h = &registry.header;
    let entries = h.ranking[..h.ranked_len as usize]
        .iter()
        .map(|r| (r.position, r.lots))
        .collect();
    (entries, h.fill_cursor)
}

/// The registry's positions in slot order, and the slot count to cover them.
async fn registered(ctx: &mut TestContext, m: &MarketFixture) -> (Vec<Pubkey>, u32) {
    let registry = ctx.registry(&m.registry).await;
    let keys = registry.positions().map(|(_, k)| k).collect();
    (keys, registry.header.high_water)
}

#[tokio::test]
async fn a_keeper_cannot_skip_the_top_ranked_position_and_each_refusal_changes_nothing() {
    let mut c = crash().await;
    liquidate_alice(&mut c).await;
    let (bob, carol, dave) = (key(&c, &c.bob), key(&c, &c.carol), key(&c, &c.dave));
    // Slots 0–4: Alice (emptied), Bob, Carol, Dave, Erin. Bob will rank first.
    let (slots, count) = registered(&mut c.ctx, &c.m).await;
    assert_eq!(slots[1..4], [bob, carol, dave]);
    let keys = c.m.keys();

    // Before any chunk: no fill.
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::adl(&keys, &[bob]),
        PerpsError::RankingIncomplete,
    )
    .await;
    // (i) A chunk that leaves Bob out, and (ii) one that puts Carol before him.
    let without_bob: Vec<Pubkey> = slots.iter().copied().filter(|k| *k != bob).collect();
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::rank_adl_candidates(&keys, 0, count, &without_bob),
        PerpsError::RankingChunkMismatch,
    )
    .await;
    let mut reordered = slots.clone();
    reordered.swap(1, 2);
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::rank_adl_candidates(&keys, 0, count, &reordered),
        PerpsError::RankingChunkMismatch,
    )
    .await;
    // A chunk of slots 0–1 ranks; the same chunk again is refused, and `adl` still waits for
    // slots 2–4.
    c.ctx
        .send(&[ix::rank_adl_candidates(&keys, 0, 2, &slots[..2])], &[])
        .await
        .unwrap();
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::rank_adl_candidates(&keys, 0, 2, &slots[..2]),
        PerpsError::SlotAlreadyRanked,
    )
    .await;
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::adl(&keys, &[bob]),
        PerpsError::RankingIncomplete,
    )
    .await;
    // Slots beyond the sweep are no chunk of it.
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::rank_adl_candidates(&keys, 2, count, &slots[2..]),
        PerpsError::InvalidRankingChunk,
    )
    .await;
    c.ctx
        .send(
            &[ix::rank_adl_candidates(&keys, 2, count - 2, &slots[2..])],
            &[],
        )
        .await
        .unwrap();
    let registry = c.ctx.registry(&c.m.registry).await;
    let ranking: Vec<Pubkey> = registry
        .header
        .unfilled()
        .iter()
        .map(|r| r.position)
        .collect();
    assert_eq!(ranking, [bob, dave, carol]);
    refused_without_effect(
        &mut c.ctx,
        &c.m,
        ix::rank_adl_candidates(&keys, 0, 2, &slots[..2]),
        PerpsError::RankingComplete,
    )
    .await;

    // (iii) `adl` with only the lower ranks, with them out of order, or with the top first and
    // the rest out of order (Bob's fill would have happened: the whole step is refused).
    for supplied in [
        vec![dave, carol],
        vec![carol],
        vec![dave, bob, carol],
        vec![bob, carol, dave],
        vec![key(&c, &c.erin)],
    ] {
        refused_without_effect(
            &mut c.ctx,
            &c.m,
            ix::adl(&keys, &supplied),
            PerpsError::AdlOutOfRankingOrder,
        )
        .await;
    }
    // The ranking in order closes the book: each gives all its ranked lots.
    assert_eq!(
        ranking_of(&mut c.ctx, &c.m).await,
        (vec![(bob, 40), (dave, 20), (carol, 40)], 0)
    );
    c.ctx.send(&[ix::adl(&keys, &ranking)], &[]).await.unwrap();
    assert_eq!(
        ranking_of(&mut c.ctx, &c.m).await,
        (vec![(bob, 0), (dave, 0), (carol, 0)], 3)
    );
    for w in [&c.bob, &c.dave, &c.carol] {
        assert_eq!(c.ctx.position(&c.m.market, &w.pubkey()).await.base_lots, 0);
    }
    assert!(!c.ctx.market(&c.m.market).await.is_adl_pending());
    c.ctx.assert_vault_matches_positions(&c.m).await;
}

#[tokio::test]
async fn a_ranked_position_that_closes_before_the_fill_is_skipped_and_the_book_still_closes() {
    // Alice long 100 from 60 on 100 USDC against Bob (40 lots, 100 USDC), Dave (20, 450) and
    // Carol (40, 1,000); Frank long 40 from 60 on 1,000 USDC against Gina (40, 5,000). At 57
    // Alice is bankrupt and the ADL book takes her over; the sweep ranks Bob, Dave, Carol, Gina.
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 100 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let dave = ctx.funded_position(&m, 450 * USDC, 0).await;
    let frank = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let gina = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    let erin = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    for (short, lots) in [(&bob, 40), (&carol, 40), (&dave, 20)] {
        ctx.cross(&m, &alice, short, OrderSide::Ask, P, lots).await;
    }
    ctx.cross(&m, &frank, &gina, OrderSide::Ask, P, 40).await;
    ctx.set_price(&m.oracle, btc(57_000), 0).await.unwrap();
    ctx.liquidate(&m, &erin, &alice).await.unwrap();
    assert_eq!(ctx.market(&m.market).await.adl_book.base_lots, 100);
    rank_sweep(&mut ctx, &m).await;
    let k = |w: &Wallet| pda::position(&m.market, &w.pubkey());
    let registry = ctx.registry(&m.registry).await;
    let ranking: Vec<Pubkey> = registry
        .header
        .unfilled()
        .iter()
        .map(|r| r.position)
        .collect();
    assert_eq!(ranking, [k(&bob), k(&dave), k(&carol), k(&gina)]);

    // Between the sweep and the fill, Bob, ranked first, buys his 40 lots back from Frank
    // (reduce-only on both sides: allowed in ADL) and closes his position's account.
    let mut ask = order(OrderSide::Ask, 57 * USDC, 40, OrderType::PostOnly);
    ask.reduce_only = true;
    ctx.place(&m, &frank, ask).await.unwrap();
    let mut bid = order(OrderSide::Bid, 57 * USDC, 40, OrderType::ImmediateOrCancel);
    bid.reduce_only = true;
    ctx.place(&m, &bob, bid).await.unwrap();
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 0);
    let left = ctx.position(&m.market, &bob.pubkey()).await.collateral as u64;
    ctx.withdraw(&m, &bob, left).await.unwrap();
    ctx.send(
        &[ix::close_position(&bob.pubkey(), &m.market, &m.registry)],
        &[&bob.keypair],
    )
    .await
    .unwrap();
    assert!(ctx.account(&k(&bob)).await.is_none());
    // The keeper's fill walks the ranking from its top: Bob is skipped (his account is gone:
    // his entry keeps its 40 lots, he gave none), then Dave, Carol and Gina close the book's
    // 100 lots.
    let (dave_before, carol_before, gina_before) = (
        ctx.position(&m.market, &dave.pubkey()).await.collateral,
        ctx.position(&m.market, &carol.pubkey()).await.collateral,
        ctx.position(&m.market, &gina.pubkey()).await.collateral,
    );
    ctx.send(&[ix::adl(&m.keys(), &ranking)], &[])
        .await
        .unwrap();
    assert_eq!(
        ranking_of(&mut ctx, &m).await,
        (
            vec![(k(&bob), 40), (k(&dave), 0), (k(&carol), 0), (k(&gina), 0)],
            4
        )
    );
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending(), "the book closed");
    for w in [&dave, &carol, &gina] {
        assert_eq!(ctx.position(&m.market, &w.pubkey()).await.base_lots, 0);
    }
    // All three were in profit at 57 and gave part of it up: each still gained on its entry.
    assert!(ctx.position(&m.market, &dave.pubkey()).await.collateral > dave_before);
    assert!(ctx.position(&m.market, &carol.pubkey()).await.collateral > carol_before);
    assert!(ctx.position(&m.market, &gina.pubkey()).await.collateral > gina_before);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_ranked_position_that_shrank_gives_only_what_it_has_and_the_next_ranks_fill_the_rest() {
    // As above, but Bob only halves his short before the fill: he gives his remaining 20 lots,
    // and the ranking goes on down (Dave 20, Carol 40, Gina 20) to close the book.
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 100 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let dave = ctx.funded_position(&m, 450 * USDC, 0).await;
    let frank = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let gina = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    let erin = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    for (short, lots) in [(&bob, 40), (&carol, 40), (&dave, 20)] {
        ctx.cross(&m, &alice, short, OrderSide::Ask, P, lots).await;
    }
    ctx.cross(&m, &frank, &gina, OrderSide::Ask, P, 40).await;
    ctx.set_price(&m.oracle, btc(57_000), 0).await.unwrap();
    ctx.liquidate(&m, &erin, &alice).await.unwrap();
    rank_sweep(&mut ctx, &m).await;
    let k = |w: &Wallet| pda::position(&m.market, &w.pubkey());
    let mut ask = order(OrderSide::Ask, 57 * USDC, 20, OrderType::PostOnly);
    ask.reduce_only = true;
    ctx.place(&m, &frank, ask).await.unwrap();
    let mut bid = order(OrderSide::Bid, 57 * USDC, 20, OrderType::ImmediateOrCancel);
    bid.reduce_only = true;
    ctx.place(&m, &bob, bid).await.unwrap();
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, -20);
    let ranking: Vec<Pubkey> = ctx
        .registry(&m.registry)
        .await
        .header
        .unfilled()
        .iter()
        .map(|r| r.position)
        .collect();
    ctx.send(&[ix::adl(&m.keys(), &ranking)], &[])
        .await
        .unwrap();
    // Bob's entry was 40 and he gave his 20: 20 stay on it; Gina's 40 less the 20 she gave,
    // and the book ran out before her ranked lots did, so she stays next (cursor 3).
    assert_eq!(
        ranking_of(&mut ctx, &m).await,
        (
            vec![(k(&bob), 20), (k(&dave), 0), (k(&carol), 0), (k(&gina), 20)],
            3
        )
    );
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 0);
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    assert_eq!(ctx.position(&m.market, &gina.pubkey()).await.base_lots, -20);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn many_bankruptcies_in_one_crash_join_one_book_whose_haircuts_pay_the_uncovered_deficit_to_the_atom(
) {
    const LONGS: u64 = 16;
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let keeper = ctx.funded_position(&m, 100_000 * USDC, 0).await;
    // Sixteen longs of 20–35 lots from 60, each on 1.6–2.4 USDC a lot (25–37× leverage): at 57
    // every one of them is bankrupt. Six shorts of various sizes and collateral take the other
    // side, a different long against each in turn.
    let mut longs = Vec::new();
    for i in 0..LONGS {
        let lots = 20 + i;
        let collateral = lots * (1_600_000 + (i * 53_171) % 800_000);
        longs.push((ctx.funded_position(&m, collateral, 0).await, lots));
    }
    let mut shorts = Vec::new();
    for j in 0..6u64 {
        shorts.push(ctx.funded_position(&m, (300 + 700 * j) * USDC, 0).await);
    }
    for (i, (long, lots)) in longs.iter().enumerate() {
        let short = &shorts[i % shorts.len()];
        ctx.cross(&m, long, short, OrderSide::Ask, P, *lots).await;
    }
    let total_lots: u64 = longs.iter().map(|(_, lots)| lots).sum();
    // The insurance vault holds the trading fees; all but one USDC of them is its floor.
    let fees = ctx.token_balance(&m.insurance_vault).await;
    assert!(fees > USDC);
    let mut params = default_params();
    params.insurance_floor = fees - USDC;
    ctx.update_params(&m, params).await.unwrap();
    ctx.set_price(&m.oracle, btc(57_000), 0).await.unwrap();

    // The keeper liquidates all sixteen in one pass: the vault pays its one USDC into the first,
    // every one joins the book, none is refused.
    let mut uncovered: i128 = 0;
    let mut paid_total: u64 = 0;
    for (long, lots) in &longs {
        let market = ctx.market(&m.market).await;
        let price = ctx.oracle_price(&m, &market).await;
        let position = ctx.position(&m.market, &long.pubkey()).await;
        let equity = invariants::equity_at(&market, &position, price).unwrap();
        assert!(
            equity < 0,
            "long of {lots} lots is bankrupt at 57: {equity}"
        );
        let insurance = ctx.token_balance(&m.insurance_vault).await;
        ctx.liquidate(&m, &keeper, long).await.unwrap();
        let paid = insurance - ctx.token_balance(&m.insurance_vault).await;
        assert!(paid as i128 <= -equity);
        paid_total += paid;
        uncovered += -equity - paid as i128;
        assert!(ctx.market(&m.market).await.is_adl_pending());
        let p = ctx.position(&m.market, &long.pubkey()).await;
        assert_eq!((p.base_lots, p.cost_basis, p.collateral), (0, 0, 0));
    }
    assert_eq!(paid_total, USDC);
    let market = ctx.market(&m.market).await;
    assert_eq!(market.adl_book.base_lots as u64, total_lots);
    assert_eq!(market.adl_sweep, 1, "one sweep for all of them");
    let book_equity =
        invariants::equity_at(&market, &market.adl_book, perps_engine::Price(57 * USDC)).unwrap();
    assert_eq!(
        book_equity, -uncovered,
        "the book holds exactly the uncovered deficit"
    );
    ctx.assert_vault_matches_positions(&m).await;

    // Each short's equity at the oracle before ADL: what closing there would give it.
    let price = perps_engine::Price(57 * USDC);
    let mut before = Vec::new();
    for w in &shorts {
        let p = ctx.position(&m.market, &w.pubkey()).await;
        before.push(invariants::equity_at(&market, &p, price).unwrap());
    }
    let insurance_before = ctx.token_balance(&m.insurance_vault).await;
    let run = ctx.run_adl(&m).await;
    println!(
        "{LONGS} bankruptcies ({total_lots} lots, {uncovered} atoms uncovered after the vault's {paid_total}): {run:?}"
    );
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending(), "the book closed");
    let mut haircuts: i128 = 0;
    for (j, w) in shorts.iter().enumerate() {
        let p = ctx.position(&m.market, &w.pubkey()).await;
        assert_eq!(p.base_lots, 0, "every short closed against the book");
        let after = invariants::equity_at(&market, &p, price).unwrap();
        assert!(after >= 0 && after <= before[j]);
        haircuts += before[j] - after;
    }
    let to_insurance =
        ctx.token_balance(&m.insurance_vault).await as i128 - insurance_before as i128;
    assert!(
        (0..total_lots as i128).contains(&to_insurance),
        "dust under an atom a lot: {to_insurance}"
    );
    assert_eq!(
        haircuts,
        uncovered + to_insurance,
        "Σ haircuts = Σ (deficit − paid by the vault) + dust to insurance"
    );
    ctx.assert_vault_matches_positions(&m).await;
}

/// A wallet of `keypair` with a position in `m` holding `collateral`.
async fn open_with(
    ctx: &mut TestContext,
    m: &MarketFixture,
    keypair: TestKeypair,
    collateral: u64,
) -> Wallet {
    let wallet = ctx.wallet_of(keypair, collateral).await;
    ctx.open_position(m, &wallet).await.unwrap();
    ctx.deposit(m, &wallet, collateral).await.unwrap();
    wallet
}

/// A market where Alice is long against `shorts` one- to three-lot shorts with collateral from 20
/// to 400 USDC (scores of every kind), every wallet's key drawn from `seed` (so the same call
/// gives the same positions in the same registry slots); the price falls to 57 and the ADL book
/// takes Alice over.
pub(crate) async fn many_shorts_in_adl(seed: u64, shorts: u64) -> (TestContext, MarketFixture) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keypair = || {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rng, &mut secret);
        TestKeypair::new_from_array(secret)
    };
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = open_with(&mut ctx, &m, keypair(), 3 * shorts * USDC).await;
    let erin = open_with(&mut ctx, &m, keypair(), 100_000 * USDC).await;
    for j in 0..shorts {
        let short = open_with(&mut ctx, &m, keypair(), (20 + (j * 37) % 380) * USDC).await;
        ctx.cross(&m, &alice, &short, OrderSide::Ask, P, 1 + j % 3)
            .await;
    }
    ctx.set_price(&m.oracle, btc(57_000), 0).await.unwrap();
    ctx.liquidate(&m, &erin, &alice).await.unwrap();
    assert!(ctx.market(&m.market).await.is_adl_pending());
    (ctx, m)
}

#[tokio::test]
async fn ranking_chunks_landing_in_any_order_in_one_slot_give_the_ranking_of_an_ordered_sweep() {
    const SHORTS: u64 = 80;
    const CHUNK: u32 = 7;
    // The same market twice (same keys, same slots). One is ranked slot by slot in order...
    let (mut ordered, m) = many_shorts_in_adl(14, SHORTS).await;
    let (slots, count) = registered(&mut ordered, &m).await;
    let registry = ordered.registry(&m.registry).await;
    let chunk_of = |first: u32| {
        let end = (first + CHUNK).min(count);
        let keys: Vec<Pubkey> = (first..end)
            .map(|s| registry.slots[s as usize].position)
            .filter(|k| *k != Pubkey::default())
            .collect();
        ix::rank_adl_candidates(&m.keys(), first, end - first, &keys)
    };
    let chunks: Vec<Instruction> = (0..count).step_by(CHUNK as usize).map(chunk_of).collect();
    for chunk in &chunks {
        ordered
            .send(std::slice::from_ref(chunk), &[])
            .await
            .unwrap();
    }
    let in_order = ordered.registry(&m.registry).await;
    assert!(in_order.header.is_ranked());

    // ...the other gets the same chunks shuffled, all landing in one bank slot.
    let (mut shuffled, m2) = many_shorts_in_adl(14, SHORTS).await;
    assert_eq!(m2.market, m.market);
    let mut chunks: Vec<Instruction> = chunks
        .into_iter()
        .map(|chunk| ix::with_account(chunk, &m.registry, &m2.registry))
        .collect();
    chunks.shuffle(&mut ChaCha8Rng::seed_from_u64(7));
    let slot_before = shuffled.clock().await.slot;
    for chunk in &chunks {
        shuffled
            .send(std::slice::from_ref(chunk), &[])
            .await
            .unwrap();
    }
    let slot_after = shuffled.clock().await.slot;
    println!(
        "{} ranking transactions over {} registered positions ({count} slots), shuffled, landed in slot {slot_before}..={slot_after}",
        chunks.len(),
        slots.len()
    );
    assert_eq!(slot_before, slot_after, "every chunk landed in one slot");
    let any_order = shuffled.registry(&m2.registry).await;
    assert!(any_order.header.is_ranked());
    let ranked = |r: &perps_client::accounts::Registry| {
        let h = &r.header;
        (
            h.ranking[..h.ranked_len as usize].to_vec(),
            h.eligible_count,
            h.eligible_lots,
            h.snapshot_price,
        )
    };
    assert_eq!(ranked(&any_order), ranked(&in_order));
    assert_eq!(any_order.header.eligible_count as u64, SHORTS);
    // And both are the top of every eligible position, as the engine ranks them.
    let market = shuffled.market(&m2.market).await;
    let positions = shuffled.positions_of(&m2).await;
    invariants::ranking_is_the_top_of_every_eligible_position(&market, &any_order, &positions)
        .unwrap();
    // The ranked book closes.
    let run = shuffled.run_adl(&m2).await;
    assert!(
        !shuffled.market(&m2.market).await.is_adl_pending(),
        "{run:?}"
    );
    shuffled.assert_vault_matches_positions(&m2).await;
}
