//! A scenario file: the market, the population and the price path of one run.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Seeds every random choice: the same seed gives the same report.
    pub seed: u64,
    pub steps: u32,
    /// Cluster seconds between steps.
    pub step_secs: i64,
    pub price: PricePath,
    pub market: MarketSetup,
    pub traders: Traders,
    pub market_makers: MarketMakers,
    pub liquidator: Liquidator,
}

/// The oracle's path: straight lines between keyframes, plus seeded noise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricePath {
    /// `[fraction of the run (0 to 1), price in USD]`, in order: a shorter run keeps the shape.
    pub keyframes: Vec<(f64, f64)>,
    /// Standard deviation of each step's multiplicative noise, in basis points.
    pub noise_bps: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSetup {
    /// What the insurance vault holds at the start.
    pub insurance_usdc: u64,
    pub funding_interval_secs: u32,
    /// Oracle moves that trip the circuit breaker (0: off), in parts per million.
    #[serde(default)]
    pub breaker_move_ppm: u32,
    /// Share of trading fees paid into the insurance vault (the rest to the treasury).
    pub fee_insurance_share_bps: u16,
    /// The insurance vault's fee on liquidated notional, in parts per million.
    pub liquidation_insurance_fee_ppm: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traders {
    pub count: u32,
    /// Each trader's deposit, drawn uniformly from `[min, max]` USDC.
    pub collateral_usdc: (u64, u64),
    /// Leverage each trader opens at, drawn uniformly from `[min, max]`.
    pub leverage: (f64, f64),
    /// Probability that a trader is long.
    pub long_share: f64,
    /// Probability that a trader acts in a step.
    pub act_probability: f64,
    /// How far past the oracle a taker order may fill, in basis points.
    pub slippage_bps: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketMakers {
    pub count: u32,
    pub collateral_usdc: u64,
    /// Distance of the first quote from the oracle, in basis points.
    pub spread_bps: u32,
    /// Quotes per side, each `level_step_bps` further out.
    pub levels: u32,
    pub level_step_bps: u32,
    /// Notional of each quote.
    pub level_usdc: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Liquidator {
    /// Keepers, each with its own liquidator position (two or more: a keeper cannot liquidate
    /// its own position, another one can).
    pub keepers: u32,
    /// Each keeper's deposit: its position takes liquidated lots over.
    pub collateral_usdc: u64,
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        let scenario: Scenario =
            toml::from_str(&text).with_context(|| format!("scenario {}", path.display()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let frames = &self.price.keyframes;
        if frames.len() < 2 || frames[0].0 != 0.0 || frames[frames.len() - 1].0 != 1.0 {
            bail!("price.keyframes must run from fraction 0 to fraction 1");
        }
        if frames.windows(2).any(|w| w[1].0 <= w[0].0) {
            bail!("price.keyframes must be in increasing order of fraction");
        }
        if frames
            .iter()
            .any(|&(_, usd)| !(usd >= 1.0 && usd <= 10_000_000.0))
        {
            bail!("price.keyframes prices must lie in [1, 10,000,000] USD");
        }
        if !(0.0..=1_000.0).contains(&self.price.noise_bps) {
            bail!("price.noise_bps must lie in [0, 1000]");
        }
        if self.steps == 0 || self.step_secs <= 0 {
            bail!("steps and step_secs must be positive");
        }
        let t = &self.traders;
        if t.collateral_usdc.0 == 0 || t.collateral_usdc.0 > t.collateral_usdc.1 {
            bail!("traders.collateral_usdc must be [min, max] with 0 < min <= max");
        }
        if !(t.leverage.0 >= 0.1 && t.leverage.0 <= t.leverage.1 && t.leverage.1 <= 100.0) {
            bail!("traders.leverage must be [min, max] within [0.1, 100]");
        }
        for (name, p) in [
            ("traders.long_share", t.long_share),
            ("traders.act_probability", t.act_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                bail!("{name} must lie in [0, 1]");
            }
        }
        if self.liquidator.keepers == 0 {
            bail!("liquidator.keepers must be at least 1");
        }
        let m = &self.market_makers;
        if m.count == 0 || m.levels == 0 || m.level_usdc == 0 {
            bail!("market_makers needs a count, levels and level_usdc above zero");
        }
        Ok(())
    }

    /// The path's price in USD at `step` (of `steps`), before noise.
    pub fn path_price(&self, step: u32) -> f64 {
        let x = if self.steps <= 1 {
            0.0
        } else {
            step as f64 / (self.steps - 1) as f64
        };
        let frames = &self.price.keyframes;
        let i = frames
            .windows(2)
            .position(|w| x <= w[1].0)
            .unwrap_or(frames.len() - 2);
        let ((x0, p0), (x1, p1)) = (frames[i], frames[i + 1]);
        p0 + (p1 - p0) * (x - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Scenario {
        toml::from_str(include_str!("../scenarios/crash.toml")).expect("crash.toml parses")
    }

    #[test]
    fn path_price_interpolates_between_keyframes_and_keeps_its_shape_when_shortened() {
        let mut s = example();
        s.price.keyframes = vec![(0.0, 100.0), (0.5, 100.0), (1.0, 60.0)];
        s.steps = 11;
        assert_eq!(s.path_price(0), 100.0);
        assert_eq!(s.path_price(5), 100.0);
        assert!((s.path_price(8) - 76.0).abs() < 1e-9);
        assert_eq!(s.path_price(10), 60.0);
        s.steps = 101;
        assert_eq!(s.path_price(50), 100.0);
        assert!((s.path_price(100) - 60.0).abs() < 1e-9);
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut s = example();
        s.price.keyframes = vec![(0.0, 100.0), (0.9, 50.0)];
        assert!(s.validate().unwrap_err().to_string().contains("keyframes"));
        let mut s = example();
        s.traders.long_share = 1.5;
        assert!(s.validate().unwrap_err().to_string().contains("long_share"));
        let mut s = example();
        s.traders.leverage = (10.0, 2.0);
        assert!(s.validate().unwrap_err().to_string().contains("leverage"));
    }
}
