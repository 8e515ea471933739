//! A local JSON-RPC cluster for the perps program: solana-program-test's bank, running
//! `perps.so` as SBF when `SBF_OUT_DIR` holds it (`bash sbf/build.sh`), natively otherwise,
//! behind the Solana JSON-RPC and websocket methods clients call (`JsonRpcBank`). `launch`
//! creates an exchange, a market and funded wallets on it, for the keeper's RPC backend and the
//! TypeScript client to run against.

mod front;

pub use front::JsonRpcBank;

use anchor_lang::prelude::Pubkey;
use perps_client::pda;
use perps_testkit::{MarketFixture, TestContext, TestKeypair, Wallet, USDC};

/// What `launch` sets up.
pub struct LaunchConfig {
    pub rpc_address: String,
    pub ws_address: String,
    /// Wallets with a position in the market, each with `collateral` quote atoms deposited.
    pub traders: usize,
    pub collateral: u64,
}

/// A served cluster, and who holds what on it.
pub struct Localnet {
    pub front: JsonRpcBank,
    pub market: MarketFixture,
    pub mint: Pubkey,
    /// Wallets by name: the admin, the oracle authority (it pushes prices), a keeper wallet with
    /// SOL and collateral tokens, and the traders.
    pub wallets: Vec<(String, TestKeypair)>,
    /// Whether the bank runs the program as SBF (`SBF_OUT_DIR`), not natively.
    pub sbf: bool,
}

pub async fn launch(config: &LaunchConfig) -> anyhow::Result<Localnet> {
    let sbf = std::env::var_os("SBF_OUT_DIR").is_some();
    let mut ctx = TestContext::with_exchange().await;
    let market = ctx.create_market().await;
    let mut wallets = vec![
        ("admin".to_string(), ctx.admin.insecure_clone()),
        (
            "oracle-authority".to_string(),
            ctx.oracle_authority.insecure_clone(),
        ),
    ];
    let keeper: Wallet = ctx.wallet(config.collateral.max(10_000 * USDC)).await;
    wallets.push(("keeper".to_string(), keeper.keypair.insecure_clone()));
    let mut known = vec![market.market, market.order_book, market.registry];
    for i in 0..config.traders {
        let trader = ctx.funded_position(&market, config.collateral, 0).await;
        known.push(pda::position(&market.market, &trader.pubkey()));
        wallets.push((format!("trader-{i}"), trader.keypair.insecure_clone()));
    }
    let mint = ctx.mint;
    let front = JsonRpcBank::start_on(ctx, known, &config.rpc_address, &config.ws_address).await?;
    Ok(Localnet {
        front,
        market,
        mint,
        wallets,
        sbf,
    })
}
