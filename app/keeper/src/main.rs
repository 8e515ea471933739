//! `perps-keeper`: run the keeper against a cluster, print a market's ADL ranking (the on-chain
//! one while the market is in ADL), or benchmark the health and ranking pass.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use clap::{Parser, Subcommand};
use perps::state::{Market, Position};
use perps_client::{accounts as decode, adl, oracle, pda};
use perps_engine::{oracle::OracleUse, Price};
use perps_keeper::{
    assess,
    config::Config,
    keeper::market_keys,
    metrics::{self, Metrics},
    rpc::{RpcChain, SendPolicy},
    send, Chain, Keeper,
};
use solana_keypair::Keypair;
use tracing::{error, info};

#[derive(Parser)]
#[command(
    name = "perps-keeper",
    about = "Liquidations, ADL and funding for the perps exchange"
)]
struct Cli {
    /// TOML configuration; flags override its values.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[arg(long, global = true)]
    rpc_url: Option<String>,
    /// Solana CLI keypair file (a JSON array of 64 bytes).
    #[arg(long, global = true)]
    keypair: Option<PathBuf>,
    #[arg(long, global = true)]
    program_id: Option<String>,
    /// Market indices, comma-separated.
    #[arg(long, global = true, value_delimiter = ',')]
    markets: Vec<u16>,
    #[arg(long, global = true)]
    poll_interval_secs: Option<u64>,
    /// Decide and log, send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// The percentile (0..=100) of recent prioritization fees over the written accounts to pay.
    #[arg(long, global = true)]
    fee_percentile: Option<u8>,
    /// The most the keeper pays, micro-lamports per compute unit.
    #[arg(long, global = true)]
    max_compute_unit_price: Option<u64>,
    /// The node's websocket, for `programSubscribe` position updates (none: poll each pass).
    #[arg(long, global = true)]
    ws_url: Option<String>,
    /// `host:port` for the Prometheus `/metrics` and `/health` endpoint.
    #[arg(long, global = true)]
    metrics_addr: Option<String>,
    /// Log one JSON object a line.
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run passes every poll interval (or once).
    Run {
        #[arg(long)]
        once: bool,
    },
    /// Print every position of a market with its ADL score, rank and indicator; while the market
    /// is in ADL, the sweep's on-chain ranking first.
    Rank {
        #[arg(long)]
        market: u16,
    },
    /// Time the health and ranking pass on synthetic positions (no cluster needed).
    Bench {
        #[arg(long, default_value_t = 100_000)]
        positions: usize,
    },
}

impl Cli {
    /// The configuration: the file's, then every flag given on top.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => {
                let rpc_url = self
                    .rpc_url
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no --config and no --rpc-url"))?;
                let keypair_path = self
                    .keypair
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no --config and no --keypair"))?;
                // The file's defaults, for the two values a configuration cannot do without.
                let mut config: Config =
                    toml::from_str("rpc_url = \"\"\nkeypair_path = \"\"\nmarkets = []")?;
                config.rpc_url = rpc_url;
                config.keypair_path = keypair_path;
                config
            }
        };
        if let Some(url) = &self.rpc_url {
            config.rpc_url = url.clone();
        }
        if let Some(path) = &self.keypair {
            config.keypair_path = path.clone();
        }
        if let Some(id) = &self.program_id {
            config.program_id = Some(id.clone());
        }
        if !self.markets.is_empty() {
            config.markets = self.markets.clone();
        }
        if let Some(secs) = self.poll_interval_secs {
            config.poll_interval_secs = secs;
        }
        config.dry_run |= self.dry_run;
        if let Some(percentile) = self.fee_percentile {
            config.fee_percentile = percentile;
        }
        if let Some(price) = self.max_compute_unit_price {
            config.max_compute_unit_price = price;
        }
        if let Some(url) = &self.ws_url {
            config.ws_url = Some(url.clone());
        }
        if let Some(addr) = &self.metrics_addr {
            config.metrics_addr = Some(addr.clone());
        }
        config.validate()?;
        Ok(config)
    }
}

fn read_keypair(path: &PathBuf) -> anyhow::Result<Keypair> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("keypair {} unreadable: {e}", path.display()))?;
    let bytes: Vec<u8> = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|b| b.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("keypair {} is not a JSON array of bytes", path.display()))?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("keypair {} is not a keypair: {e}", path.display()))
}

async fn connect(config: &Config) -> anyhow::Result<RpcChain> {
    let payer = read_keypair(&config.keypair_path)?;
    let chain = RpcChain::new(
        config.rpc_url.clone(),
        payer,
        config.program_id()?,
        SendPolicy {
            fee_percentile: config.fee_percentile,
            max_compute_unit_price: config.max_compute_unit_price,
            compute_unit_margin_percent: config.compute_unit_margin_percent,
        },
    );
    chain.check_reachable().await?;
    Ok(chain)
}

async fn run(config: Config, once: bool) -> anyhow::Result<()> {
    let mut chain = connect(&config).await?;
    let tables = config.lookup_tables()?;
    for index in &config.markets {
        let market_key = pda::Pdas(chain.program_id()).market(*index);
        let market = chain
            .account(&market_key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("market {index} ({market_key}) does not exist"))?;
        let market =
            decode::market(&market.data).map_err(|e| anyhow::anyhow!("market {index}: {e}"))?;
        let fixed = send::lookup_addresses(&market_keys(&mut chain, market_key, &market).await?);
        let table = match tables.get(index) {
            Some(table) => {
                chain.use_lookup_table(*table, &fixed).await?;
                *table
            }
            None if config.dry_run => continue,
            None => chain.create_lookup_table(&fixed).await?,
        };
        info!(market = index, %table, "lookup table");
    }
    if let Some(ws_url) = &config.ws_url {
        let pdas = pda::Pdas(chain.program_id());
        let markets: Vec<Pubkey> = config.markets.iter().map(|i| pdas.market(*i)).collect();
        chain.subscribe(ws_url, &markets);
    }
    let metrics = Metrics::new();
    if let Some(addr) = &config.metrics_addr {
        // Healthy while a pass completed within three poll intervals (and a slow pass's time).
        let max_age = Duration::from_secs(config.poll_interval_secs * 3 + 30);
        let bound = metrics::spawn(addr.parse()?, metrics.clone(), max_age).await?;
        info!(%bound, "metrics endpoint");
    }
    info!(payer = %chain.payer(), markets = ?config.markets, dry_run = config.dry_run, "keeper started");
    let mut keeper = Keeper::new(chain, config.markets.clone(), config.dry_run)
        .with_metrics(metrics)
        .with_parallel_sends(config.max_parallel_sends);
    loop {
        keeper.pass().await;
        if once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(config.poll_interval_secs)).await;
    }
}

async fn rank(config: Config, index: u16) -> anyhow::Result<()> {
    let mut chain = connect(&config).await?;
    let key = pda::Pdas(chain.program_id()).market(index);
    let market = decode::market(
        &chain
            .account(&key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no market {index}"))?
            .data,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let oracle_account = chain
        .account(&market.oracle)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no oracle account"))?;
    let now = chain.unix_time().await?;
    let price = oracle::oracle_price(
        &key,
        &market,
        &oracle_account.owner,
        &oracle_account.data,
        now,
        OracleUse::Liquidation,
    )
    .map_err(|e| anyhow::anyhow!("oracle: {e}"))?;
    let positions = chain.positions(&key).await?;
    if market.is_adl_pending() {
        print_on_chain_ranking(&mut chain, index, &market).await?;
    }
    println!(
        "market {index}: {} positions at {} quote atoms per lot",
        positions.len(),
        price.0
    );
    print_ranking(&adl::rank_positions(&market, &positions, price));
    Ok(())
}

/// The ADL book and the sweep's on-chain ranking, as `adl` will fill it.
async fn print_on_chain_ranking(
    chain: &mut RpcChain,
    index: u16,
    market: &Market,
) -> anyhow::Result<()> {
    let account = chain
        .account(&market.position_registry)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no position registry {}", market.position_registry))?;
    let registry = decode::registry(&account.data).map_err(|e| anyhow::anyhow!("registry: {e}"))?;
    let header = &registry.header;
    println!(
        "market {index} in ADL: book {} lots; sweep {} of the registry's {} positions{} at {} quote atoms per lot",
        market.adl_book.base_lots,
        market.adl_sweep,
        header.count,
        if header.sweep != market.adl_sweep {
            " (not started)".to_string()
        } else if header.is_ranked() {
            format!(
                ": ranked, {} eligible ({} lots), best {} kept, {} filled",
                header.eligible_count, header.eligible_lots, header.ranked_len, header.fill_cursor
            )
        } else {
            format!(
                ": {} of {} slots ranked",
                header.slots_ranked, header.sweep_slots
            )
        },
        market.adl_snapshot_price
    );
    if header.sweep == market.adl_sweep {
        println!("on-chain ranking (filled entries are not eligible any more):");
        print_ranking(&adl::on_chain_ranking(&registry));
    }
    println!();
    Ok(())
}

fn print_ranking(ranking: &[adl::RankedPosition]) {
    println!(
        "{:<45} {:>6} {:>12} {:>14} {:>5} {:>7} {:>9}",
        "position", "side", "lots", "score", "rank", "lights", "eligible"
    );
    for r in ranking {
        let sign = if r.score.negative { -1.0 } else { 1.0 };
        println!(
            "{:<45} {:>6} {:>12} {:>14.6} {:>5} {:>7} {:>9}",
            r.key.to_string(),
            format!("{:?}", r.side),
            r.lots,
            sign * r.score.num as f64 / r.score.den as f64,
            r.rank,
            "●".repeat(r.indicator as usize),
            r.eligible
        );
    }
}

/// Synthetic positions around 60 USDC a lot with leverage from 1× to 50×, half long, half short.
fn synthetic(count: usize) -> (Market, Vec<(Pubkey, Position)>) {
    let mut market: Market = anchor_lang::__private::bytemuck::Zeroable::zeroed();
    market.params.margin_tier_count = 1;
    market.params.margin_tiers[0] = perps::state::MarginTierParams {
        max_notional: u64::MAX,
        maintenance_rate_ppm: 10_000,
        initial_rate_ppm: 20_000,
    };
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let positions = (0..count)
        .map(|i| {
            let lots = (next() % 1_000 + 1) as i64 * if i % 2 == 0 { 1 } else { -1 };
            let entry = 55_000_000 + (next() % 10_000_000) as i64;
            let cost = lots * entry;
            let leverage = (next() % 50 + 1) as i64;
            let mut position: Position = anchor_lang::__private::bytemuck::Zeroable::zeroed();
            position.base_lots = lots;
            position.cost_basis = cost;
            position.collateral = cost.abs() / leverage;
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            (Pubkey::new_from_array(key), position)
        })
        .collect();
    (market, positions)
}

fn bench(count: usize) {
    let (market, positions) = synthetic(count);
    let price = Price(60_000_000);
    let start = Instant::now();
    let liquidatable = assess(&market, &positions, price);
    let health = start.elapsed();
    let start = Instant::now();
    let ranked = adl::rank_positions(&market, &positions, price);
    let ranking = start.elapsed();
    println!("{count} positions: health pass {:.1} ms ({} liquidatable), ADL ranking of both sides {:.1} ms ({} ranked)",
        health.as_secs_f64() * 1e3, liquidatable.len(), ranking.as_secs_f64() * 1e3, ranked.len());
    println!(
        "throughput: {:.0} positions/s judged, {:.0} positions/s ranked",
        count as f64 / health.as_secs_f64(),
        count as f64 / ranking.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    );
    if cli.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let result = match &cli.command {
        Command::Bench { positions } => {
            bench(*positions);
            Ok(())
        }
        Command::Run { once } => match cli.config() {
            Ok(config) => run(config, *once).await,
            Err(e) => Err(e),
        },
        Command::Rank { market } => match cli.config() {
            Ok(config) => rank(config, *market).await,
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        error!("{e:#}");
        std::process::exit(1);
    }
}
