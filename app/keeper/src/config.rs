//! Keeper configuration: a TOML file, overridden by flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use serde::Deserialize;

use crate::keeper::{Inventory, TopUp, Unwind};

/// What the keeper runs with.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub rpc_url: String,
    pub keypair_path: PathBuf,
    /// Base58 program id; the perps program's own id when absent.
    #[serde(default)]
    pub program_id: Option<String>,
    pub markets: Vec<u16>,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    #[serde(default)]
    pub dry_run: bool,
    /// The percentile (0..=100) of the cluster's recent prioritization fees over the accounts a
    /// transaction writes that the keeper pays.
    #[serde(default = "default_fee_percentile")]
    pub fee_percentile: u8,
    /// The most the keeper pays, micro-lamports per compute unit.
    #[serde(default = "default_max_price")]
    pub max_compute_unit_price: u64,
    /// Added to a transaction's simulated compute units for its limit, in percent.
    #[serde(default = "default_margin")]
    pub compute_unit_margin_percent: u32,
    /// An address lookup table per market index (`"0" = "<base58>"`), holding the market's
    /// fixed accounts; a market without one gets a table the keeper creates at start.
    #[serde(default)]
    pub lookup_tables: BTreeMap<String, String>,
    /// Independent transactions (liquidations, ranking chunks) in flight at once; ADL fills
    /// always go one after another, in ranking order.
    #[serde(default = "default_parallel_sends")]
    pub max_parallel_sends: usize,
    /// Unwinding the lots the keeper takes over: the worst price, basis points from the oracle
    /// (none: it holds them), and the lots per reduce-only order.
    #[serde(default)]
    pub unwind_max_slippage_bps: Option<u32>,
    #[serde(default = "default_unwind_lots")]
    pub unwind_max_lots_per_order: u64,
    /// Equity above initial margin (quote atoms) the keeper's position keeps to liquidate.
    #[serde(default)]
    pub min_headroom: i64,
    /// The keeper's token account it tops its collateral up from, and the most it deposits.
    #[serde(default)]
    pub top_up_wallet_token: Option<String>,
    #[serde(default)]
    pub top_up_max_total: u64,
    /// The RPC node's websocket (`ws://` or `wss://`): each market's positions are kept by a
    /// `programSubscribe` with a getProgramAccounts snapshot at start and on reconnect; without
    /// it (or while it is down) every pass polls getProgramAccounts.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// `host:port` of the Prometheus `/metrics` and `/health` endpoint; none when absent.
    #[serde(default)]
    pub metrics_addr: Option<String>,
}

fn default_poll() -> u64 {
    5
}

fn default_unwind_lots() -> u64 {
    100
}

fn default_parallel_sends() -> usize {
    crate::keeper::DEFAULT_PARALLEL_SENDS
}

fn default_fee_percentile() -> u8 {
    75
}

fn default_max_price() -> u64 {
    1_000_000
}

fn default_margin() -> u32 {
    20
}

impl Config {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("bad config {}: {e}", path.display()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.markets.is_empty(), "bad config: `markets` is empty");
        anyhow::ensure!(
            self.poll_interval_secs > 0,
            "bad config: `poll_interval_secs` must be positive"
        );
        anyhow::ensure!(
            self.rpc_url.starts_with("http://") || self.rpc_url.starts_with("https://"),
            "bad config: `rpc_url` must be an http(s) URL, got {:?}",
            self.rpc_url
        );
        self.program_id()?;
        anyhow::ensure!(
            self.fee_percentile <= 100,
            "bad config: `fee_percentile` must be 0..=100, got {}",
            self.fee_percentile
        );
        anyhow::ensure!(
            self.compute_unit_margin_percent <= 1_000,
            "bad config: `compute_unit_margin_percent` must be at most 1000, got {}",
            self.compute_unit_margin_percent
        );
        anyhow::ensure!(
            (1..=64).contains(&self.max_parallel_sends),
            "bad config: `max_parallel_sends` must be 1..=64, got {}",
            self.max_parallel_sends
        );
        if let Some(url) = &self.ws_url {
            anyhow::ensure!(
                url.starts_with("ws://") || url.starts_with("wss://"),
                "bad config: `ws_url` must be a ws(s) URL, got {url:?}"
            );
        }
        self.inventory()?;
        self.lookup_tables()?;
        if let Some(addr) = &self.metrics_addr {
            addr.parse::<std::net::SocketAddr>().map_err(|_| {
                anyhow::anyhow!("bad config: `metrics_addr` {addr:?} is not host:port")
            })?;
        }
        Ok(())
    }

    /// What the keeper does with the lots it takes over and how it keeps its margin.
    pub fn inventory(&self) -> anyhow::Result<Inventory> {
        let unwind = match self.unwind_max_slippage_bps {
            None => None,
            Some(bps) => {
                anyhow::ensure!(
                    bps <= 10_000,
                    "bad config: `unwind_max_slippage_bps` must be at most 10000, got {bps}"
                );
                anyhow::ensure!(
                    self.unwind_max_lots_per_order > 0,
                    "bad config: `unwind_max_lots_per_order` must be positive"
                );
                Some(Unwind {
                    max_slippage_bps: bps,
                    max_lots_per_order: self.unwind_max_lots_per_order,
                })
            }
        };
        anyhow::ensure!(
            self.min_headroom >= 0,
            "bad config: `min_headroom` must not be negative, got {}",
            self.min_headroom
        );
        let top_up = match &self.top_up_wallet_token {
            None => None,
            Some(token) => Some(TopUp {
                wallet_token: token.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "bad config: `top_up_wallet_token` {token:?} is not a base58 public key"
                    )
                })?,
                max_total: self.top_up_max_total,
            }),
        };
        Ok(Inventory {
            unwind,
            min_headroom: self.min_headroom,
            top_up,
        })
    }

    /// The configured lookup table of each market that has one.
    pub fn lookup_tables(&self) -> anyhow::Result<BTreeMap<u16, Pubkey>> {
        self.lookup_tables
            .iter()
            .map(|(market, table)| {
                let index: u16 = market.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "bad config: `lookup_tables` key {market:?} is not a market index"
                    )
                })?;
                anyhow::ensure!(
                    self.markets.contains(&index),
                    "bad config: `lookup_tables` names market {index}, which `markets` does not"
                );
                let key: Pubkey = table.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "bad config: `lookup_tables` entry {table:?} is not a base58 public key"
                    )
                })?;
                Ok((index, key))
            })
            .collect()
    }

    pub fn program_id(&self) -> anyhow::Result<Pubkey> {
        match &self.program_id {
            None => Ok(perps::ID),
            Some(id) => id.parse().map_err(|_| {
                anyhow::anyhow!("bad config: `program_id` {id:?} is not a base58 public key")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_parses_with_defaults_and_rejects_what_is_wrong_by_name() {
        let ok: Config = toml::from_str(
            "rpc_url = \"http://127.0.0.1:8899\"\nkeypair_path = \"k.json\"\nmarkets = [0, 1]\n",
        )
        .unwrap();
        assert_eq!(
            (
                ok.poll_interval_secs,
                ok.dry_run,
                ok.fee_percentile,
                ok.max_compute_unit_price,
                ok.compute_unit_margin_percent
            ),
            (5, false, 75, 1_000_000, 20)
        );
        assert_eq!(ok.program_id().unwrap(), perps::ID);
        ok.validate().unwrap();
        let empty = Config {
            markets: vec![],
            ..ok.clone()
        };
        assert!(empty
            .validate()
            .unwrap_err()
            .to_string()
            .contains("markets"));
        let url = Config {
            rpc_url: "localhost".into(),
            ..ok.clone()
        };
        assert!(url.validate().unwrap_err().to_string().contains("rpc_url"));
        let id = Config {
            program_id: Some("not-a-key".into()),
            ..ok.clone()
        };
        assert!(id
            .validate()
            .unwrap_err()
            .to_string()
            .contains("program_id"));
        let named = |bad: Config, field: &str| {
            let error = bad.validate().unwrap_err().to_string();
            assert!(error.contains(field), "{error}");
        };
        named(
            Config {
                fee_percentile: 101,
                ..ok.clone()
            },
            "`fee_percentile`",
        );
        named(
            Config {
                compute_unit_margin_percent: 5_000,
                ..ok.clone()
            },
            "`compute_unit_margin_percent`",
        );
        named(
            Config {
                max_parallel_sends: 0,
                ..ok.clone()
            },
            "`max_parallel_sends`",
        );
        named(
            Config {
                unwind_max_slippage_bps: Some(20_000),
                ..ok.clone()
            },
            "`unwind_max_slippage_bps`",
        );
        named(
            Config {
                unwind_max_slippage_bps: Some(100),
                unwind_max_lots_per_order: 0,
                ..ok.clone()
            },
            "`unwind_max_lots_per_order`",
        );
        named(
            Config {
                min_headroom: -1,
                ..ok.clone()
            },
            "`min_headroom`",
        );
        named(
            Config {
                top_up_wallet_token: Some("x".into()),
                ..ok.clone()
            },
            "`top_up_wallet_token`",
        );
        named(
            Config {
                ws_url: Some("http://x".into()),
                ..ok.clone()
            },
            "`ws_url`",
        );
        named(
            Config {
                metrics_addr: Some("nowhere".into()),
                ..ok.clone()
            },
            "`metrics_addr`",
        );
        let table = |market: &str, key: &str| Config {
            lookup_tables: [(market.to_string(), key.to_string())].into(),
            ..ok.clone()
        };
        named(
            table("x", &Pubkey::new_unique().to_string()),
            "not a market index",
        );
        named(table("7", &Pubkey::new_unique().to_string()), "market 7");
        named(table("0", "nope"), "not a base58 public key");
        let good = Pubkey::new_unique();
        assert_eq!(
            table("1", &good.to_string()).lookup_tables().unwrap(),
            [(1u16, good)].into()
        );
        assert!(toml::from_str::<Config>(
            "rpc_url = \"http://x\"\nkeypair_path = \"k\"\nmarkets = [0]\ntypo = 1\n"
        )
        .is_err());
    }
}
