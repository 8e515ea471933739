//! `perps-localnet`: serves a local JSON-RPC cluster running the perps program with an exchange,
//! a market and funded wallets, writes their keypairs and a `localnet.json` describing them, and
//! runs until interrupted. With `SBF_OUT_DIR` holding `perps.so` (`bash sbf/build.sh`) the
//! program runs as SBF.

use std::path::PathBuf;

use clap::Parser;
use perps_localnet::{launch, LaunchConfig};
use perps_testkit::USDC;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "perps-localnet",
    about = "A local JSON-RPC cluster running the perps program"
)]
struct Cli {
    #[arg(long, default_value = "127.0.0.1:8899")]
    rpc: String,
    #[arg(long, default_value = "127.0.0.1:8900")]
    ws: String,
    /// Wallets with a position and collateral in the market.
    #[arg(long, default_value_t = 3)]
    traders: usize,
    /// Collateral of each trader, in whole USDC.
    #[arg(long, default_value_t = 10_000)]
    collateral: u64,
    /// Where the keypairs and localnet.json go.
    #[arg(long, default_value = "localnet")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let collateral = cli
        .collateral
        .checked_mul(USDC)
        .ok_or_else(|| anyhow::anyhow!("--collateral {} is too large", cli.collateral))?;
    let net = launch(&LaunchConfig {
        rpc_address: cli.rpc.clone(),
        ws_address: cli.ws.clone(),
        traders: cli.traders,
        collateral,
    })
    .await?;
    std::fs::create_dir_all(&cli.out)?;
    let mut keypairs = serde_json::Map::new();
    for (name, keypair) in &net.wallets {
        let path = cli.out.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(&keypair.to_bytes().to_vec())?)?;
        keypairs.insert(name.clone(), json!(path.display().to_string()));
    }
    let m = &net.market;
    let description = json!({
        "rpc_url": net.front.url,
        "ws_url": net.front.ws_url,
        "program_id": perps::ID.to_string(),
        "program": if net.sbf { "perps.so (SBF)" } else { "native" },
        "collateral_mint": net.mint.to_string(),
        "market": {
            "index": m.index,
            "market": m.market.to_string(),
            "order_book": m.order_book.to_string(),
            "registry": m.registry.to_string(),
            "oracle": m.oracle.to_string(),
            "collateral_vault": m.collateral_vault.to_string(),
            "insurance_vault": m.insurance_vault.to_string(),
            "treasury": m.treasury.to_string(),
        },
        "keypairs": keypairs,
    });
    let path = cli.out.join("localnet.json");
    std::fs::write(&path, serde_json::to_string_pretty(&description)?)?;
    println!(
        "perps localnet: JSON-RPC {} and websocket {}, the program {}; market {} ({}); keypairs and {} in {}",
        net.front.url,
        net.front.ws_url,
        if net.sbf { "as SBF (perps.so)" } else { "natively (set SBF_OUT_DIR for perps.so)" },
        m.index,
        m.market,
        path.display(),
        cli.out.display()
    );
    std::future::pending::<()>().await;
    Ok(())
}
