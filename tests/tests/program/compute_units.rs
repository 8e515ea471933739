//! Compute units of whole instructions, from the VM: with the program loaded as SBF
//! (`SBF_OUT_DIR` holding `perps.so`, see `sbf/test.sh`) each case prints what the runtime
//! logged the program consumed and checks it fits a transaction's 1.4M limit. Natively the
//! runtime meters nothing of the program, so the cases only say they skipped.

use perps_client::{instructions as ix, pda, OrderSide, OrderType};
use perps_testkit::*;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_signer::Signer;

const P: u64 = 60 * USDC;
const TICK: u64 = 10_000;
const TRANSACTION_LIMIT: u64 = 1_400_000;

fn on_sbf(case: &str) -> bool {
    let sbf = std::env::var_os("SBF_OUT_DIR").is_some();
    if !sbf {
        println!("{case}: skipped (the program runs natively; sbf/test.sh runs it as SBF)");
    }
    sbf
}

/// The compute units of the last metered `instruction`.
fn last(ctx: &TestContext, instruction: &str) -> u64 {
    let record = ctx
        .metered()
        .iter()
        .rev()
        .find(|r| r.instruction == instruction)
        .unwrap_or_else(|| panic!("no {instruction} metered"));
    assert!(record.succeeded, "{instruction} failed");
    assert!(record.compute_units < TRANSACTION_LIMIT);
    record.compute_units
}

fn limit() -> solana_instruction::Instruction {
    ComputeBudgetInstruction::set_compute_unit_limit(TRANSACTION_LIMIT as u32)
}

/// `place_order` crossing K makers (one 1-lot ask each), with the deposit, withdrawal and funding
/// crank around it.
#[tokio::test]
async fn compute_units_of_trading_and_collateral_instructions() {
    if !on_sbf("compute_units_of_trading_and_collateral_instructions") {
        return;
    }
    let mut per_maker = Vec::new();
    for makers in [1usize, 5, 10, 20] {
        let mut ctx = TestContext::with_exchange().await;
        let m = ctx.create_market().await;
        let mut wallets = Vec::new();
        for i in 0..makers {
            let maker = ctx.funded_position(&m, 1_000 * USDC, 0).await;
            let ask = order(OrderSide::Ask, P + i as u64 * TICK, 1, OrderType::PostOnly);
            ctx.place(&m, &maker, ask).await.unwrap();
            wallets.push(maker);
        }
        ctx.start_metering();
        let taker = ctx.funded_position(&m, 10_000 * USDC, 0).await;
        let bid = order(
            OrderSide::Bid,
            P + makers as u64 * TICK,
            makers as u64,
            OrderType::ImmediateOrCancel,
        );
        let instruction = ctx.order(&m, &taker, bid).await;
        ctx.send(&[limit(), instruction], &[&taker.keypair])
            .await
            .unwrap();
        assert_eq!(
            ctx.position(&m.market, &taker.pubkey()).await.base_lots,
            makers as i64
        );
        let cu = last(&ctx, "PlaceOrder");
        println!("place_order crossing {makers:>2} makers: {cu:>7} CU");
        per_maker.push((makers, cu));
        if makers == 1 {
            println!("deposit: {:>7} CU", last(&ctx, "Deposit"));
            println!("open_position: {:>7} CU", last(&ctx, "OpenPosition"));
            ctx.withdraw(&m, &taker, USDC).await.unwrap();
            println!("withdraw: {:>7} CU", last(&ctx, "Withdraw"));
            ctx.advance_clock(3_600).await;
            ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
            ctx.send(&[ix::crank_funding(&m.keys())], &[])
                .await
                .unwrap();
            println!("crank_funding: {:>7} CU", last(&ctx, "CrankFunding"));
        }
    }
    let (first, last_case) = (per_maker[0], per_maker[per_maker.len() - 1]);
    let slope = (last_case.1 - first.1) / (last_case.0 - first.0) as u64;
    println!(
        "place_order: {slope} CU a maker; {} makers would fit in {TRANSACTION_LIMIT} CU",
        (TRANSACTION_LIMIT - (first.1 - slope)) / slope
    );
}

/// `liquidate` of a 1,000-lot long on an empty book and on a book of 512 bids and 512 asks.
#[tokio::test]
async fn compute_units_of_liquidation_on_an_empty_and_a_full_book() {
    if !on_sbf("compute_units_of_liquidation_on_an_empty_and_a_full_book") {
        return;
    }
    for full in [false, true] {
        let (mut ctx, m, alice, _bob, carol) = leveraged_long(1_000, 6_000 * USDC).await;
        if full {
            // 32 wallets × 32 one-lot orders: 16 rest bids, 16 asks, inside the band.
            for wallet in 0..32u64 {
                let filler = ctx.funded_position(&m, 100 * USDC, 0).await;
                let (side, price) = if wallet < 16 {
                    (OrderSide::Bid, 57 * USDC)
                } else {
                    (OrderSide::Ask, 63 * USDC)
                };
                for i in 0..32 {
                    let resting = perps_client::PlaceOrderArgs {
                        client_order_id: i,
                        ..order(side, price, 1, OrderType::PostOnly)
                    };
                    ctx.place(&m, &filler, resting).await.unwrap();
                }
            }
            let book = ctx.order_book(&m.order_book).await;
            assert_eq!(
                book.book.bids.orders().len() + book.book.asks.orders().len(),
                1_024
            );
        }
        ctx.set_price(&m.oracle, btc(54_500), 0).await.unwrap();
        ctx.start_metering();
        let target = pda::position(&m.market, &alice.pubkey());
        ctx.send(
            &[limit(), ix::liquidate(&carol.pubkey(), &m.keys(), &target)],
            &[&carol.keypair],
        )
        .await
        .unwrap();
        let book = if full { "a full book" } else { "an empty book" };
        println!("liquidate on {book}: {:>7} CU", last(&ctx, "Liquidate"));
    }
}

/// `rank_adl_candidates` over a chunk of 20 positions, then `adl` down the first 1, 8 and 21
/// ranking entries (21: the most a legacy transaction carries).
#[tokio::test]
async fn compute_units_of_adl_ranking_and_fills() {
    if !on_sbf("compute_units_of_adl_ranking_and_fills") {
        return;
    }
    let mut per_entry = Vec::new();
    for entries in [1usize, 8, 21] {
        let (mut ctx, m) = super::adl_ranking::many_shorts_in_adl(3, 40).await;
        ctx.start_metering();
        let registry = ctx.registry(&m.registry).await;
        let count = registry.header.high_water;
        for first in (0..count).step_by(20) {
            let end = (first + 20).min(count);
            let keys: Vec<_> = (first..end)
                .map(|s| registry.slots[s as usize].position)
                .filter(|k| *k != anchor_lang::prelude::Pubkey::default())
                .collect();
            let rank = ix::rank_adl_candidates(&m.keys(), first, end - first, &keys);
            ctx.send(&[limit(), rank], &[]).await.unwrap();
        }
        if entries == 1 {
            // The first chunk: 20 registered positions.
            let first_chunk = ctx
                .metered()
                .iter()
                .find(|r| r.instruction == "RankAdlCandidates")
                .map(|r| r.compute_units);
            println!("rank_adl_candidates over 20 positions: {first_chunk:?} CU");
        }
        let registry = ctx.registry(&m.registry).await;
        assert!(registry.header.is_ranked());
        let ranked: Vec<_> = registry.header.ranking[..entries]
            .iter()
            .map(|r| r.position)
            .collect();
        ctx.send(&[limit(), ix::adl(&m.keys(), &ranked)], &[])
            .await
            .unwrap();
        assert_eq!(
            ctx.registry(&m.registry).await.header.fill_cursor as usize,
            entries
        );
        let cu = last(&ctx, "Adl");
        println!("adl with {entries:>2} candidates: {cu:>7} CU");
        per_entry.push((entries, cu));
    }
    let (first, most) = (per_entry[0], per_entry[per_entry.len() - 1]);
    let slope = (most.1 - first.1) / (most.0 - first.0) as u64;
    println!(
        "adl: {slope} CU a candidate; {} candidates would fit in {TRANSACTION_LIMIT} CU",
        (TRANSACTION_LIMIT - (first.1 - slope)) / slope
    );
}
