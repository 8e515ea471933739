//! The keeper's test scenes, and the JSON-RPC front to the bank they run over
//! (`perps_localnet::JsonRpcBank`, which the localnet command serves too).
#![allow(dead_code)]

use perps_client::OrderSide;
use perps_testkit::*;

pub use perps_localnet::JsonRpcBank;

/// The price the scenes trade at: 60 USDC a lot.
pub const P: u64 = 60 * USDC;

/// Alice long 99 lots from 60 with 100 USDC against three shorts of 33 (100, 1,000 and 450
/// USDC), each also holding `extra_positions` flat positions; a 10% crash leaves Alice far past
/// bankrupt with only fees in the vault.
pub async fn bankrupt_long(extra_positions: usize) -> (TestContext, MarketFixture, Vec<Wallet>) {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let mut wallets = vec![];
    for collateral in [100, 1_000, 450] {
        let short = ctx.funded_position(&m, collateral * USDC, 0).await;
        ctx.cross(&m, &alice, &short, OrderSide::Ask, P, 100 / 3)
            .await;
        wallets.push(short);
    }
    for _ in 0..extra_positions {
        ctx.funded_position(&m, 0, 0).await;
    }
    wallets.insert(0, alice);
    ctx.set_price(&m.oracle, btc(54_000), 0).await.unwrap();
    (ctx, m, wallets)
}
