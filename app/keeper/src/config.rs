//! Keeper configuration: a TOML file, overridden by flags.

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use serde::Deserialize;

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
    /// Priority fee, micro-lamports per compute unit.
    #[serde(default)]
    pub compute_unit_price: u64,
}

fn default_poll() -> u64 {
    5
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
        Ok(())
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
            (ok.poll_interval_secs, ok.dry_run, ok.compute_unit_price),
            (5, false, 0)
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
            ..ok
        };
        assert!(id
            .validate()
            .unwrap_err()
            .to_string()
            .contains("program_id"));
        assert!(toml::from_str::<Config>(
            "rpc_url = \"http://x\"\nkeypair_path = \"k\"\nmarkets = [0]\ntypo = 1\n"
        )
        .is_err());
    }
}
