//! The keeper over the real JSON-RPC wire: `RpcChain` (solana-rpc-client over HTTP) against a
//! JSON-RPC front to the bank running the real program (`support::JsonRpcBank`). It prices its
//! transactions from the fees the front saw, sizes their compute-unit limit from the bank's
//! simulation, creates the market's lookup table and lands a liquidation and an ADL in v0
//! transactions that read the market's accounts from it.
// The bank crates mark their API "unstable" (a deprecation warning); it is the bank we test in.
#![allow(deprecated)]

use perps_client::{instructions as ix, pda};
use perps_keeper::{
    keeper::market_keys,
    rpc::{RpcChain, SendPolicy},
    send, Chain, Keeper,
};
use perps_testkit::*;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_transaction::Transaction;
use support::{bankrupt_long, JsonRpcBank};

mod support;

/// What another trader paid, micro-lamports per compute unit, writing the market's vault.
const TRADER_PRICE: u64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_json_rpc_the_keeper_prices_sizes_and_lands_a_liquidation_and_an_adl_in_v0() {
    let (mut ctx, m, wallets) = bankrupt_long(0).await;
    let trader = ctx.funded_position(&m, 100 * USDC, 10 * USDC).await;
    let bot = ctx.funded_position(&m, 10_000 * USDC, 10 * USDC).await;
    let known: Vec<_> = ctx
        .positions_of(&m)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let front = JsonRpcBank::start(ctx, known).await;

    // A trader deposits with a priority fee: the fee history the keeper's estimate reads.
    let rpc = RpcClient::new(front.url.clone());
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let deposit = Transaction::new_signed_with_payer(
        &[
            ComputeBudgetInstruction::set_compute_unit_price(TRADER_PRICE),
            ix::deposit(&trader.pubkey(), &m.market, &trader.token, USDC),
        ],
        Some(&trader.pubkey()),
        &[&trader.keypair],
        blockhash,
    );
    rpc.send_and_confirm_transaction(&deposit).await.unwrap();

    let policy = SendPolicy {
        fee_percentile: 75,
        max_compute_unit_price: 1_000_000,
        compute_unit_margin_percent: 20,
    };
    let mut chain = RpcChain::new(
        front.url.clone(),
        bot.keypair.insecure_clone(),
        perps::ID,
        policy,
    );
    chain.check_reachable().await.unwrap();
    let market =
        perps_client::accounts::market(&chain.account(&m.market).await.unwrap().unwrap().data)
            .unwrap();
    let fixed = send::lookup_addresses(&market_keys(&mut chain, m.market, &market).await.unwrap());
    let table = chain.create_lookup_table(&fixed).await.unwrap();
    assert_eq!(
        chain.adl_candidates_per_transaction(),
        send::V0_ADL_CANDIDATES_PER_TRANSACTION
    );

    let mut keeper = Keeper::new(chain, vec![m.index], false);
    let summary = keeper.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(summary.liquidations, 1, "{summary:?}");
    assert_eq!(summary.adl_completed, 1, "{summary:?}");
    assert!(summary.adl_transactions >= 1, "{summary:?}");

    // The last transaction (an `adl` fill) paid the trader's price on the vault it also writes,
    // asked for its simulated units plus the margin, and read the market's table.
    let sent = keeper.chain.last_send().unwrap();
    println!("last keeper transaction over the wire: {sent:?} (table {table})");
    assert_eq!(sent.compute_unit_price, TRADER_PRICE);
    assert!(sent.simulated_units > 0);
    assert_eq!(
        sent.compute_unit_limit,
        send::compute_unit_limit(sent.simulated_units, 20)
    );
    assert_eq!(sent.lookups, 1);
    let calls = front.calls().await;
    println!("JSON-RPC calls: {calls:?}");
    for method in [
        "getRecentPrioritizationFees",
        "simulateTransaction",
        "sendTransaction",
        "getSignatureStatuses",
        "getProgramAccounts",
    ] {
        assert!(
            calls.get(method).is_some_and(|n| *n > 0),
            "{method}: {calls:?}"
        );
    }

    let mut ctx = front.ctx.lock().await;
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending());
    assert_eq!(market.adl_book.base_lots, 0);
    assert_eq!(
        ctx.position(&m.market, &wallets[0].pubkey())
            .await
            .base_lots,
        0
    );
    ctx.assert_vault_matches_positions(&m).await;
    drop(ctx);

    // A fee cap holds whatever the cluster's fees.
    let capped = SendPolicy {
        max_compute_unit_price: 1_000,
        ..policy
    };
    let mut cheap = RpcChain::new(
        front.url.clone(),
        bot.keypair.insecure_clone(),
        perps::ID,
        capped,
    );
    cheap.use_lookup_table(table, &fixed).await.unwrap();
    cheap
        .send(&[ix::deposit(&bot.pubkey(), &m.market, &bot.token, USDC)])
        .await
        .unwrap();
    assert_eq!(cheap.last_send().unwrap().compute_unit_price, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_table_that_is_not_the_markets_is_refused_by_name() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let bot = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let front = JsonRpcBank::start(ctx, []).await;
    let policy = SendPolicy {
        fee_percentile: 50,
        max_compute_unit_price: 1_000,
        compute_unit_margin_percent: 10,
    };
    let mut chain = RpcChain::new(
        front.url.clone(),
        bot.keypair.insecure_clone(),
        perps::ID,
        policy,
    );
    let keys = m.keys();
    let fixed = send::lookup_addresses(&keys);
    // A table of only some of the market's accounts.
    let partial = chain.create_lookup_table(&fixed[..3]).await.unwrap();
    let error = chain.use_lookup_table(partial, &fixed).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("lookup table {partial} lacks")),
        "{error}"
    );
    // The market itself is no table.
    let error = chain.use_lookup_table(m.market, &fixed).await.unwrap_err();
    assert!(
        error.to_string().contains("not an address lookup table"),
        "{error}"
    );
    let missing = pda::position(&m.market, &solana_pubkey_unique());
    let error = chain.use_lookup_table(missing, &fixed).await.unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
}

fn solana_pubkey_unique() -> anchor_lang::prelude::Pubkey {
    anchor_lang::prelude::Pubkey::new_unique()
}

/// Waits until `ready` holds (the subscription task runs on its own).
async fn until(mut ready: impl FnMut() -> bool) {
    for _ in 0..500 {
        if ready() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("not ready after 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_come_from_the_subscription_after_one_snapshot_and_a_reconnect_takes_another() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    let short = ctx.funded_position(&m, 50_000 * USDC, 0).await;
    let long = ctx.funded_position(&m, 100 * USDC, 0).await;
    ctx.cross(
        &m,
        &long,
        &short,
        perps_client::OrderSide::Ask,
        support::P,
        100,
    )
    .await;
    let bot = ctx.funded_position(&m, 10_000 * USDC, 0).await;
    let known: Vec<_> = ctx
        .positions_of(&m)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let front = JsonRpcBank::start(ctx, known).await;
    let policy = SendPolicy {
        fee_percentile: 50,
        max_compute_unit_price: 1_000,
        compute_unit_margin_percent: 20,
    };
    let mut chain = RpcChain::new(
        front.url.clone(),
        bot.keypair.insecure_clone(),
        perps::ID,
        policy,
    );
    chain.subscribe(&front.ws_url, &[m.market]);
    let mut keeper = Keeper::new(chain, vec![m.index], false);
    until(|| {
        keeper
            .chain
            .subscription(&m.market)
            .unwrap()
            .needs_snapshot()
    })
    .await;
    let scans = |calls: &std::collections::BTreeMap<String, u64>| calls["getProgramAccounts"];

    // The first pass takes the snapshot; nothing is liquidatable at 60.
    let summary = keeper.pass().await;
    assert_eq!(
        (summary.positions, summary.liquidations, summary.errors),
        (3, 0, 0)
    );
    assert_eq!(scans(&front.calls().await), 1);

    // At 59 the long is liquidated from the cached positions, and the liquidation's writes come
    // back as notifications: the next pass finds nothing to do, still without a scan.
    front
        .ctx
        .lock()
        .await
        .set_price(&m.oracle, btc(59_000), 0)
        .await
        .unwrap();
    let summary = keeper.pass().await;
    assert_eq!(
        (summary.liquidations, summary.errors),
        (1, 0),
        "{summary:?}"
    );
    let lots = front
        .ctx
        .lock()
        .await
        .position(&m.market, &long.pubkey())
        .await
        .base_lots;
    let liquidated = perps_client::pda::position(&m.market, &long.pubkey());
    until(|| {
        keeper
            .chain
            .subscription(&m.market)
            .unwrap()
            .positions()
            .unwrap()
            .iter()
            .any(|(k, p)| *k == liquidated && p.base_lots == lots)
    })
    .await;
    let summary = keeper.pass().await;
    assert_eq!(
        (summary.liquidatable, summary.errors),
        (0, 0),
        "{summary:?}"
    );
    let calls = front.calls().await;
    assert_eq!(scans(&calls), 1, "{calls:?}");
    assert_eq!(calls["programSubscribe"], 1);

    // The node drops the websocket: the keeper resubscribes and takes one more snapshot.
    front.drop_subscriptions().await;
    until(|| {
        let cache = keeper.chain.subscription(&m.market).unwrap();
        cache.subscriptions() == 2 && cache.needs_snapshot()
    })
    .await;
    let summary = keeper.pass().await;
    assert_eq!((summary.positions, summary.errors), (3, 0), "{summary:?}");
    let calls = front.calls().await;
    assert_eq!(
        (scans(&calls), calls["programSubscribe"]),
        (2, 2),
        "{calls:?}"
    );
}
