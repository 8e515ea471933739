//! The keeper against the embedded bank: liquidations, bankruptcies taken into the ADL book and
//! the book closed by the bot alone (ranking chunks, then fills down the on-chain ranking), two
//! keepers side by side, and dry runs.
// The bank crates mark their API "unstable" (a deprecation warning); it is the bank we test in.
#![allow(deprecated)]

use perps_client::OrderType;
use perps_client::{pda, OrderSide};
use perps_engine::Price;
use perps_keeper::{
    assess,
    bank::BankChain,
    keeper::{Inventory, TopUp, Unwind},
    Keeper,
};
use perps_testkit::*;
use support::{bankrupt_long, P};

mod support;

struct Scene {
    ctx: TestContext,
    m: MarketFixture,
    a: Wallet,
    b: Wallet,
    d: Wallet,
}

/// Longs A (100 USDC), B (300), C (2,000) and D (120), 100 lots each from 60 against a big short;
/// 1,000 USDC of insurance. At 59, A (equity 0.60) and D (20.60) are below maintenance (29.50),
/// A the furthest; B and C are healthy.
async fn scene() -> Scene {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    let short = ctx.funded_position(&m, 50_000 * USDC, 0).await;
    let mut longs = Vec::new();
    for collateral in [100, 300, 2_000, 120] {
        let long = ctx.funded_position(&m, collateral * USDC, 0).await;
        ctx.cross(&m, &long, &short, OrderSide::Ask, P, 100).await;
        longs.push(long);
    }
    ctx.set_price(&m.oracle, btc(59_000), 0).await.unwrap();
    let d = longs.pop().unwrap();
    let _c = longs.pop().unwrap();
    let b = longs.pop().unwrap();
    let a = longs.pop().unwrap();
    Scene { ctx, m, a, b, d }
}

/// A keeper with its own funded position in the market, watching every position there.
async fn keeper(ctx: &mut TestContext, m: &MarketFixture, dry_run: bool) -> Keeper<BankChain> {
    keeper_with(ctx, m, 10_000 * USDC, dry_run).await
}

/// A keeper whose position holds `collateral`.
async fn keeper_funded(
    ctx: &mut TestContext,
    m: &MarketFixture,
    collateral: u64,
) -> Keeper<BankChain> {
    keeper_with(ctx, m, collateral, false).await
}

async fn keeper_with(
    ctx: &mut TestContext,
    m: &MarketFixture,
    collateral: u64,
    dry_run: bool,
) -> Keeper<BankChain> {
    let wallet = ctx.funded_position(m, collateral, 0).await;
    keeper_of(ctx, m, &wallet, dry_run).await
}

/// A keeper signing with `wallet`, watching every position of `m`.
async fn keeper_of(
    ctx: &mut TestContext,
    m: &MarketFixture,
    wallet: &Wallet,
    dry_run: bool,
) -> Keeper<BankChain> {
    let watched = ctx
        .positions_of(m)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let chain = BankChain::new(
        ctx.bank.banks_client.clone(),
        wallet.keypair.insecure_clone(),
        watched,
    );
    Keeper::new(chain, vec![m.index], dry_run)
}

/// The market left ADL (its book is empty) with no open interest left on either side.
async fn assert_adl_cleared_every_lot(ctx: &mut TestContext, m: &MarketFixture) {
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending());
    assert_eq!(
        (
            market.adl_book.base_lots,
            market.open_interest_long,
            market.open_interest_short
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_pass_liquidates_exactly_the_liquidatable_positions_most_under_margined_first() {
    let Scene {
        mut ctx,
        m,
        a,
        b,
        d,
    } = scene().await;
    let market = ctx.market(&m.market).await;
    let positions = ctx.positions_of(&m).await;
    let order: Vec<_> = assess(&market, &positions, Price(59 * USDC))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        order,
        [
            pda::position(&m.market, &a.pubkey()),
            pda::position(&m.market, &d.pubkey())
        ]
    );

    let mut bot = keeper(&mut ctx, &m, false).await;
    let summary = bot.pass().await;
    assert_eq!(
        (summary.liquidatable, summary.liquidations, summary.errors),
        (2, 2, 0)
    );
    // A could only be closed in full (its deficit paid by insurance); D partially.
    assert_eq!(ctx.position(&m.market, &a.pubkey()).await.base_lots, 0);
    let d_lots = ctx.position(&m.market, &d.pubkey()).await.base_lots;
    assert!(d_lots > 0 && d_lots < 100, "partial: {d_lots}");
    assert_eq!(ctx.position(&m.market, &b.pubkey()).await.base_lots, 100);
    ctx.assert_vault_matches_positions(&m).await;
    // Nothing is liquidatable any more: the next pass sends nothing.
    let again = bot.pass().await;
    assert_eq!(
        (again.liquidatable, again.liquidations, again.errors),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn two_keepers_on_one_bank_do_not_double_act_and_both_end_cleanly() {
    let Scene {
        mut ctx, m, a, d, ..
    } = scene().await;
    let mut first = keeper(&mut ctx, &m, false).await;
    let mut second = keeper(&mut ctx, &m, false).await;
    let (one, two) = tokio::join!(first.pass(), second.pass());
    assert_eq!((one.errors, two.errors), (0, 0));
    assert_eq!(one.liquidations + two.liquidations, 2, "{one:?} {two:?}");
    assert_eq!(ctx.position(&m.market, &a.pubkey()).await.base_lots, 0);
    assert!(ctx.position(&m.market, &d.pubkey()).await.base_lots < 100);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_dry_run_decides_but_sends_nothing() {
    let Scene {
        mut ctx, m, a, d, ..
    } = scene().await;
    let mut bot = keeper(&mut ctx, &m, true).await;
    let summary = bot.pass().await;
    assert_eq!(
        (summary.liquidatable, summary.liquidations, summary.dry_run),
        (2, 0, 2)
    );
    assert_eq!(ctx.position(&m.market, &a.pubkey()).await.base_lots, 100);
    assert_eq!(ctx.position(&m.market, &d.pubkey()).await.base_lots, 100);
}

#[tokio::test]
async fn the_bot_alone_takes_a_bankruptcy_into_the_book_and_closes_it_by_adl() {
    let (mut ctx, m, wallets) = bankrupt_long(0).await;
    let alice = &wallets[0];
    let mut bot = keeper(&mut ctx, &m, false).await;
    let summary = bot.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    // Alice goes into the book; one chunk ranks the five registered positions (Alice, the
    // shorts, the keeper's); the fills close the book in the same pass.
    assert_eq!(summary.liquidations, 1, "{summary:?}");
    assert_eq!(
        (summary.rank_transactions, summary.positions_ranked),
        (1, 5),
        "{summary:?}"
    );
    assert!(summary.adl_transactions >= 1, "{summary:?}");
    assert_eq!(summary.adl_completed, 1, "{summary:?}");
    assert_adl_cleared_every_lot(&mut ctx, &m).await;
    assert_eq!(ctx.position(&m.market, &alice.pubkey()).await.base_lots, 0);
    ctx.assert_vault_matches_positions(&m).await;
    // Nothing is left to do.
    let again = bot.pass().await;
    assert_eq!(
        (
            again.liquidations,
            again.rank_transactions,
            again.adl_transactions,
            again.errors
        ),
        (0, 0, 0, 0),
        "{again:?}"
    );
}

#[tokio::test]
async fn one_pass_takes_two_bankruptcies_into_one_book_and_closes_it() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let ann = ctx.funded_position(&m, 100 * USDC, 0).await;
    for collateral in [100, 1_000, 450] {
        let short = ctx.funded_position(&m, collateral * USDC, 0).await;
        ctx.cross(&m, &alice, &short, OrderSide::Ask, P, 33).await;
        ctx.cross(&m, &ann, &short, OrderSide::Ask, P, 33).await;
    }
    // Both longs are far past bankrupt and the vault holds only fees: neither waits for the
    // other, both go into the market's one ADL book, which one ADL closes.
    ctx.set_price(&m.oracle, btc(54_000), 0).await.unwrap();
    let mut bot = keeper(&mut ctx, &m, false).await;
    let summary = bot.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(summary.liquidations, 2, "{summary:?}");
    assert_eq!(summary.adl_completed, 1, "{summary:?}");
    assert_adl_cleared_every_lot(&mut ctx, &m).await;
    for long in [&alice, &ann] {
        assert_eq!(ctx.position(&m.market, &long.pubkey()).await.base_lots, 0);
    }
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_registry_larger_than_one_chunk_is_ranked_in_several_and_a_dry_run_sends_none() {
    let (mut ctx, m, wallets) = bankrupt_long(30).await;
    let mut dry = keeper(&mut ctx, &m, true).await;
    // A dry run decides the liquidation but sends nothing: no ADL.
    let summary = dry.pass().await;
    assert_eq!(
        (summary.liquidations, summary.dry_run),
        (0, 1),
        "{summary:?}"
    );
    assert!(!ctx.market(&m.market).await.is_adl_pending());

    // Alice, 3 shorts, 30 flat positions and the two keepers': 36 registered positions, ranked
    // in two chunks of at most 28.
    let mut bot = keeper(&mut ctx, &m, false).await;
    let summary = bot.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(summary.liquidations, 1, "{summary:?}");
    assert_eq!(
        (summary.rank_transactions, summary.positions_ranked),
        (2, 36),
        "{summary:?}"
    );
    assert_eq!(summary.adl_completed, 1, "{summary:?}");
    let market = ctx.market(&m.market).await;
    let registry = ctx.registry(&m.registry).await;
    // The sweep ranked every slot and found the three profitable shorts eligible.
    assert_eq!(registry.header.sweep, market.adl_sweep);
    assert!(registry.header.is_ranked());
    assert_eq!(
        (registry.header.count, registry.header.eligible_count),
        (36, 3)
    );
    assert_adl_cleared_every_lot(&mut ctx, &m).await;
    assert_eq!(
        ctx.position(&m.market, &wallets[0].pubkey())
            .await
            .base_lots,
        0
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn in_a_settled_market_keepers_settle_every_position_with_lots_or_orders_once() {
    use perps::state::MarketStatus;
    use perps_client::OrderType;
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    // Four pairs of 5, 8, 11 and 14 lots at 60; a fifth wallet only quotes.
    for i in 0..4 {
        let long = ctx.funded_position(&m, 1_000 * USDC, 0).await;
        let short = ctx.funded_position(&m, 1_000 * USDC, 0).await;
        ctx.cross(&m, &long, &short, OrderSide::Ask, P, 5 + 3 * i)
            .await;
    }
    let quoter = ctx.funded_position(&m, 500 * USDC, 0).await;
    let ask = order(OrderSide::Ask, 62 * USDC, 2, OrderType::PostOnly);
    ctx.place(&m, &quoter, ask).await.unwrap();
    // The keepers' own positions are opened (and funded) before the market settles.
    let mut first = keeper(&mut ctx, &m, false).await;
    let mut second = keeper(&mut ctx, &m, false).await;
    ctx.set_price(&m.oracle, btc(61_000), 0).await.unwrap();
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();

    // Both keepers pass at once: the eight positions with lots and the quoter are settled once
    // each; whatever one finds already done is skipped, never an error.
    let (one, two) = tokio::join!(first.pass(), second.pass());
    assert_eq!((one.errors, two.errors), (0, 0), "{one:?} {two:?}");
    assert_eq!(one.settlements + two.settlements, 9, "{one:?} {two:?}");
    let market = ctx.market(&m.market).await;
    assert_eq!(
        (market.open_interest_long, market.open_interest_short),
        (0, 0)
    );
    let positions = ctx.positions_of(&m).await;
    assert!(positions
        .iter()
        .all(|(_, p)| p.base_lots == 0 && !p.has_open_orders()));
    ctx.assert_vault_matches_positions(&m).await;
    let held: i64 = positions.iter().map(|(_, p)| p.collateral).sum();
    assert_eq!(held as u64, ctx.token_balance(&m.collateral_vault).await);
    // Nothing is left to do.
    let again = first.pass().await;
    assert_eq!(
        (again.settlements, again.skipped, again.errors),
        (0, 0, 0),
        "{again:?}"
    );
}

#[tokio::test]
async fn two_keepers_liquidate_fifty_positions_in_parallel_with_no_error_and_nothing_sent_twice() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    ctx.fund_insurance(&m, 5_000 * USDC).await;
    let short = ctx.funded_position(&m, 500_000 * USDC, 0).await;
    let mut longs = Vec::new();
    for _ in 0..50 {
        let long = ctx.funded_position(&m, 100 * USDC, 0).await;
        ctx.cross(&m, &long, &short, OrderSide::Ask, P, 100).await;
        longs.push(long);
    }
    ctx.set_price(&m.oracle, btc(59_000), 0).await.unwrap();
    let first = keeper_funded(&mut ctx, &m, 200_000 * USDC).await;
    let second = keeper_funded(&mut ctx, &m, 200_000 * USDC).await;
    let (mut first, mut second) = (first.with_parallel_sends(8), second.with_parallel_sends(8));
    let (one, two) = tokio::join!(first.pass(), second.pass());
    assert_eq!((one.errors, two.errors), (0, 0), "{one:?} {two:?}");
    assert_eq!((one.liquidatable, two.liquidatable), (50, 50));
    // Every position liquidated once; each keeper sent each decision at most once (what it
    // sent either landed or found the other keeper had done it).
    assert_eq!(one.liquidations + two.liquidations, 50, "{one:?} {two:?}");
    assert!(one.liquidations + one.skipped <= 50, "{one:?}");
    assert!(two.liquidations + two.skipped <= 50, "{two:?}");
    for long in &longs {
        assert!(ctx.position(&m.market, &long.pubkey()).await.base_lots < 100);
    }
    ctx.assert_vault_matches_positions(&m).await;
    // Nothing is left: neither sends anything again.
    let (one, two) = tokio::join!(first.pass(), second.pass());
    assert_eq!(
        (
            one.liquidations + two.liquidations,
            one.skipped + two.skipped,
            one.errors + two.errors
        ),
        (0, 0, 0),
        "{one:?} {two:?}"
    );
}

/// A chain that dies (every send fails) after `sends_left` transactions: a keeper crashing.
struct CrashingAfter {
    inner: BankChain,
    sends_left: usize,
}

impl perps_keeper::Chain for CrashingAfter {
    fn payer(&self) -> anchor_lang::prelude::Pubkey {
        self.inner.payer()
    }
    fn program_id(&self) -> anchor_lang::prelude::Pubkey {
        self.inner.program_id()
    }
    async fn account(
        &mut self,
        key: &anchor_lang::prelude::Pubkey,
    ) -> anyhow::Result<Option<perps_keeper::chain::Fetched>> {
        self.inner.account(key).await
    }
    async fn positions(
        &mut self,
        market: &anchor_lang::prelude::Pubkey,
    ) -> anyhow::Result<Vec<(anchor_lang::prelude::Pubkey, perps::state::Position)>> {
        self.inner.positions(market).await
    }
    async fn unix_time(&mut self) -> anyhow::Result<i64> {
        self.inner.unix_time().await
    }
    async fn send(
        &mut self,
        instructions: &[solana_instruction::Instruction],
    ) -> Result<(), perps_keeper::SendError> {
        if self.sends_left == 0 {
            return Err(perps_keeper::SendError::Failed("crashed".into()));
        }
        self.sends_left -= 1;
        self.inner.send(instructions).await
    }
}

#[tokio::test]
async fn a_keeper_that_crashes_mid_adl_is_replaced_by_a_fresh_one_that_finishes_the_event() {
    // 36 registered positions: two ranking chunks, then the fills.
    let (mut ctx, m, wallets) = bankrupt_long(30).await;
    let wallet = ctx.funded_position(&m, 10_000 * USDC, 0).await.keypair;
    let watched = ctx
        .positions_of(&m)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    // It lands the liquidation and the first ranking chunk, then dies.
    let chain = CrashingAfter {
        inner: BankChain::new(
            ctx.bank.banks_client.clone(),
            wallet.insecure_clone(),
            watched,
        ),
        sends_left: 2,
    };
    let mut doomed = Keeper::new(chain, vec![m.index], false).with_parallel_sends(1);
    let summary = doomed.pass().await;
    assert_eq!(
        (summary.liquidations, summary.rank_transactions),
        (1, 1),
        "{summary:?}"
    );
    assert!(summary.errors > 0, "{summary:?}");
    drop(doomed);
    let market = ctx.market(&m.market).await;
    assert!(market.is_adl_pending());
    let registry = ctx.registry(&m.registry).await;
    assert!(
        !registry.header.is_ranked(),
        "the crash left the sweep half-ranked"
    );

    // A fresh keeper (no memory of what the other sent) on the same wallet finishes it.
    let watched = ctx
        .positions_of(&m)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let chain = BankChain::new(ctx.bank.banks_client.clone(), wallet, watched);
    let mut fresh = Keeper::new(chain, vec![m.index], false);
    let summary = fresh.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(
        summary.rank_transactions, 1,
        "only the chunk left: {summary:?}"
    );
    assert_eq!(summary.adl_completed, 1, "{summary:?}");
    assert_adl_cleared_every_lot(&mut ctx, &m).await;
    assert_eq!(
        ctx.position(&m.market, &wallets[0].pubkey())
            .await
            .base_lots,
        0
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn the_lots_taken_over_are_unwound_reduce_only_within_the_slippage_until_flat() {
    let Scene {
        mut ctx, m, a, d, ..
    } = scene().await;
    let buyer = ctx.funded_position(&m, 50_000 * USDC, 0).await;
    // A bid 3.4% under the oracle (59): out of the keeper's 2% reach.
    let far = order(OrderSide::Bid, 57 * USDC, 300, OrderType::PostOnly);
    ctx.place(&m, &buyer, far).await.unwrap();
    let wallet = ctx.funded_position(&m, 10_000 * USDC, 0).await;
    let inventory = Inventory {
        unwind: Some(Unwind {
            max_slippage_bps: 200,
            max_lots_per_order: 60,
        }),
        ..Inventory::default()
    };
    let mut bot = keeper_of(&mut ctx, &m, &wallet, false)
        .await
        .with_inventory(inventory);
    let summary = bot.pass().await;
    assert_eq!(
        (summary.liquidations, summary.errors),
        (2, 0),
        "{summary:?}"
    );
    let taken = ctx.position(&m.market, &wallet.pubkey()).await.base_lots;
    assert!(taken > 0, "the keeper took the longs over");
    assert_eq!(summary.unwind_orders, 0, "nothing within 2%: {summary:?}");

    // A bid at the oracle: the keeper sells into it, 60 lots an order, until flat.
    let near = order(OrderSide::Bid, 59 * USDC, 300, OrderType::PostOnly);
    ctx.place(&m, &buyer, near).await.unwrap();
    let summary = bot.pass().await;
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(summary.lots_unwound, taken as u64, "{summary:?}");
    assert_eq!(
        summary.unwind_orders as u64,
        (taken as u64).div_ceil(60),
        "{summary:?}"
    );
    assert_eq!(ctx.position(&m.market, &wallet.pubkey()).await.base_lots, 0);
    assert_eq!(
        ctx.position(&m.market, &buyer.pubkey()).await.base_lots,
        taken,
        "the buyer holds what the keeper unwound"
    );
    for liquidated in [&a, &d] {
        assert!(
            ctx.position(&m.market, &liquidated.pubkey())
                .await
                .base_lots
                < 100
        );
    }
    ctx.assert_vault_matches_positions(&m).await;
    // Flat: the next pass sends no order.
    assert_eq!(bot.pass().await.unwind_orders, 0);
}

#[tokio::test]
async fn a_keeper_short_of_headroom_tops_up_from_its_wallet_or_stops_liquidating() {
    let Scene { mut ctx, m, a, .. } = scene().await;
    // 10 USDC of collateral, 2,000 more in the wallet; it wants 1,000 above initial margin.
    let wallet = ctx.funded_position(&m, 10 * USDC, 2_000 * USDC).await;
    let wants = Inventory {
        min_headroom: 1_000 * USDC as i64,
        ..Inventory::default()
    };
    let mut without = keeper_of(&mut ctx, &m, &wallet, false)
        .await
        .with_inventory(wants);
    let summary = without.pass().await;
    assert_eq!(
        (summary.liquidations, summary.top_ups, summary.errors),
        (0, 0, 1),
        "{summary:?}"
    );
    assert_eq!(ctx.position(&m.market, &a.pubkey()).await.base_lots, 100);

    let mut with = keeper_of(&mut ctx, &m, &wallet, false)
        .await
        .with_inventory(Inventory {
            top_up: Some(TopUp {
                wallet_token: wallet.token,
                max_total: 2_000 * USDC,
            }),
            ..wants
        });
    let before = ctx.position(&m.market, &wallet.pubkey()).await.collateral;
    let summary = with.pass().await;
    assert_eq!(
        (summary.top_ups, summary.liquidations, summary.errors),
        (1, 2, 0),
        "{summary:?}"
    );
    let deposited = ctx.token_balance(&wallet.token).await;
    assert!(deposited < 2_000 * USDC, "a part of the wallet went in");
    assert!(ctx.position(&m.market, &wallet.pubkey()).await.collateral > before);
    ctx.assert_vault_matches_positions(&m).await;
}

/// The body of `GET path` on `addr`, with its status line.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: keeper\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[tokio::test]
async fn the_metrics_endpoint_serves_what_a_pass_did_and_health_follows_the_passes() {
    use perps_keeper::metrics::{self, Metrics};
    let Scene { mut ctx, m, .. } = scene().await;
    let metrics = Metrics::new();
    let addr = metrics::spawn(
        "127.0.0.1:0".parse().unwrap(),
        metrics.clone(),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    let (status, _) = http_get(addr, "/health").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "no pass yet");

    let mut bot = keeper(&mut ctx, &m, false).await.with_metrics(metrics);
    let summary = bot.pass().await;
    assert_eq!(summary.liquidations, 2, "{summary:?}");
    let (status, body) = http_get(addr, "/health").await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    println!("{body}");
    for line in [
        "perps_keeper_passes_total 1",
        "perps_keeper_liquidations_total 2",
        "perps_keeper_adl_fills_total 0",
        "perps_keeper_landing_latency_seconds_count 2",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
    }
    let wallet = body
        .lines()
        .find_map(|l| l.strip_prefix("perps_keeper_wallet_lamports "))
        .unwrap();
    assert!(wallet.parse::<u64>().unwrap() > 0);
    assert!(body.contains("perps_keeper_collateral_headroom_quote{market=\"0\"}"));
    let (status, _) = http_get(addr, "/nope").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}
