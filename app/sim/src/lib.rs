//! perps-sim: the deleveraging mechanism under stress. A scenario starts the perps program in
//! solana-program-test's bank (embedded: no cluster, no setup), funds market makers and traders
//! with seeded leverage and sides, replays a price path through the price feed, lets the makers
//! quote and the traders trade, runs the keeper library (liquidation, ADL, funding) every step and
//! checks DESIGN.md §12's invariants after every step. It reports a summary table, a CSV timeline
//! and a PNG chart.

pub mod chart;
pub mod recorder;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod view;

pub use scenario::Scenario;
pub use sim::{Outcome, Simulation};

/// The scenarios shipped in `app/sim/scenarios/`, built in so the binary runs from anywhere.
pub const BUILT_IN: [(&str, &str); 3] = [
    ("crash", include_str!("../scenarios/crash.toml")),
    ("calm", include_str!("../scenarios/calm.toml")),
    ("squeeze", include_str!("../scenarios/squeeze.toml")),
];

/// A built-in scenario by name, or a scenario file by path.
pub fn load_scenario(name_or_path: &str) -> anyhow::Result<Scenario> {
    match BUILT_IN.iter().find(|(name, _)| *name == name_or_path) {
        Some((name, text)) => {
            let scenario: Scenario = toml::from_str(text)
                .map_err(|e| anyhow::anyhow!("built-in scenario {name}: {e}"))?;
            scenario.validate()?;
            Ok(scenario)
        }
        None => Scenario::load(std::path::Path::new(name_or_path)),
    }
}
