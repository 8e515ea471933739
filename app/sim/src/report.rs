//! What a run reports: the summary table, the timeline (CSV) and the throughput figures.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::path::Path;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use perps_testkit::{invariants::Breach, USDC};

use crate::recorder::KeeperEffect;
use crate::scenario::Scenario;

/// One step of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub step: u32,
    /// Simulated seconds since the start.
    pub time_secs: i64,
    pub oracle_usd: f64,
    pub insurance_atoms: u64,
    pub open_interest_lots: u64,
    pub trades: u64,
    pub liquidations: u64,
    pub bankruptcies: u64,
    pub adl_fills: u64,
    /// The market ended the step in ADL (its book held lots).
    pub adl_pending: bool,
    pub status: u8,
}

/// Running totals a row is the difference of.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub trades: u64,
    pub liquidations: u64,
    pub bankruptcies: u64,
    pub adl_fills: u64,
}

/// Everything a run decides; the same seed gives the same summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub traders: u32,
    pub steps: u32,
    /// Slots of the market's position registry.
    pub registry_capacity: u32,
    pub trades: u64,
    /// Traded lots valued at the oracle, in quote atoms.
    pub volume_atoms: u128,
    /// Taker orders the program refused (margin, ADL in progress, nothing to reduce...).
    pub orders_refused: u64,
    /// Collateral flat traders took out, and withdrawals the program refused.
    pub withdrawn_atoms: u64,
    pub withdrawals_refused: u64,
    /// Market makers' quote transactions the program refused.
    pub quotes_refused: u64,
    pub liquidations: u64,
    pub liquidated_lots: u64,
    /// Bankruptcies the insurance vault covered in the liquidation, and those it could not,
    /// taken over into the market's ADL book.
    pub bankruptcies_covered: u64,
    pub bankruptcies_into_book: u64,
    /// What the insurance vault paid to bankrupt positions in liquidations (those taken into the
    /// book included), and into the ADL book in `adl` steps before anyone was haircut.
    pub insurance_paid: u64,
    pub insurance_paid_into_book: u64,
    /// Liquidation fees the insurance vault received (its trading-fee share is not counted).
    pub insurance_fees: u64,
    /// What closed ADL books had left, paid to the insurance vault.
    pub insurance_from_book: u64,
    pub insurance_start: u64,
    pub insurance_end: u64,
    pub insurance_low: u64,
    /// Times the market entered ADL (its book took a bankruptcy while empty), and times ADL
    /// closed the book.
    pub adl_started: u64,
    pub adl_completed: u64,
    pub adl_fills: u64,
    /// Ranked positions an `adl` step passed over (closed, flipped, liquidatable, nothing to
    /// give).
    pub adl_skipped: u64,
    pub adl_lots: u64,
    pub deleveraged: BTreeSet<Pubkey>,
    /// The largest equity one candidate gave up to one ADL fill (atoms), and the largest share
    /// (ppm) of a candidate's equity just before that one fill took.
    pub largest_haircut: u64,
    pub largest_haircut_share_ppm: u64,
    /// Ranking sweeps started and fully ranked; `rank_adl_candidates` transactions and the
    /// positions they ranked.
    pub sweeps_started: u64,
    pub sweeps_ranked: u64,
    /// Ranked sweeps whose ranking was checked against every position (ranked back to back by
    /// one keeper, nothing sent in between).
    pub sweeps_checked: u64,
    pub rank_transactions: u64,
    pub positions_ranked: u64,
    pub funding_cranks: u64,
    pub keeper_errors: u64,
    /// Steps that ended with the market still in ADL, and of those, the ones where no eligible
    /// position was left to deleverage at the step's price (the others: the keepers' passes of
    /// the step were used up first).
    pub steps_ending_in_adl: u64,
    pub steps_in_adl_without_candidate: u64,
    /// Whether the market was still in ADL when the run ended.
    pub adl_open_at_end: bool,
    /// Steps after which every invariant held.
    pub steps_held: u64,
    /// A candidate an ADL fill left below zero equity (DESIGN.md §12.5), if any.
    pub insolvent_candidate: Option<(Pubkey, i128)>,
}

/// Wall-clock figures of a run (not part of what the seed decides).
#[derive(Clone, Copy, Debug, Default)]
pub struct Throughput {
    pub setup: Duration,
    pub run: Duration,
    pub keeper_time: Duration,
    pub sim_transactions: u64,
    pub keeper_transactions: u64,
    /// Instructions the simulator sent (the keeper's transactions hold one each).
    pub instructions: u64,
}

impl Summary {
    pub fn new(scenario: &Scenario, insurance: u64, registry_capacity: u32) -> Self {
        Self {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            traders: scenario.traders.count,
            steps: scenario.steps,
            registry_capacity,
            trades: 0,
            volume_atoms: 0,
            orders_refused: 0,
            withdrawn_atoms: 0,
            withdrawals_refused: 0,
            quotes_refused: 0,
            liquidations: 0,
            liquidated_lots: 0,
            bankruptcies_covered: 0,
            bankruptcies_into_book: 0,
            insurance_paid: 0,
            insurance_paid_into_book: 0,
            insurance_fees: 0,
            insurance_from_book: 0,
            insurance_start: insurance,
            insurance_end: insurance,
            insurance_low: insurance,
            adl_started: 0,
            adl_completed: 0,
            adl_fills: 0,
            adl_skipped: 0,
            adl_lots: 0,
            deleveraged: BTreeSet::new(),
            largest_haircut: 0,
            largest_haircut_share_ppm: 0,
            sweeps_started: 0,
            sweeps_ranked: 0,
            sweeps_checked: 0,
            rank_transactions: 0,
            positions_ranked: 0,
            funding_cranks: 0,
            keeper_errors: 0,
            steps_ending_in_adl: 0,
            steps_in_adl_without_candidate: 0,
            adl_open_at_end: false,
            steps_held: 0,
            insolvent_candidate: None,
        }
    }

    /// Every bankruptcy: covered by the vault, or taken into the book.
    pub fn bankruptcies(&self) -> u64 {
        self.bankruptcies_covered + self.bankruptcies_into_book
    }

    pub fn counts(&self) -> Counts {
        Counts {
            trades: self.trades,
            liquidations: self.liquidations,
            bankruptcies: self.bankruptcies(),
            adl_fills: self.adl_fills,
        }
    }

    pub fn record(&mut self, effect: &KeeperEffect) {
        match *effect {
            KeeperEffect::Liquidation {
                lots,
                insurance_paid,
                insurance_fee,
                into_adl_book,
                adl_started,
                ..
            } => {
                if lots > 0 {
                    self.liquidations += 1;
                    self.liquidated_lots += lots;
                }
                if into_adl_book {
                    self.bankruptcies_into_book += 1;
                } else if insurance_paid > 0 {
                    self.bankruptcies_covered += 1;
                }
                if adl_started {
                    self.adl_started += 1;
                }
                self.insurance_paid += insurance_paid;
                self.insurance_fees += insurance_fee;
            }
            KeeperEffect::SweepStarted => self.sweeps_started += 1,
            KeeperEffect::Ranked {
                positions,
                completed,
                checked,
            } => {
                self.rank_transactions += 1;
                self.positions_ranked += positions;
                self.sweeps_ranked += completed as u64;
                self.sweeps_checked += checked as u64;
            }
            KeeperEffect::AdlFill {
                candidate,
                lots,
                haircut,
                equity_before,
                equity_after,
            } => {
                self.adl_fills += 1;
                self.adl_lots += lots;
                self.deleveraged.insert(candidate);
                self.largest_haircut = self.largest_haircut.max(haircut);
                let share = (haircut as u128 * 1_000_000 / equity_before.max(1) as u128) as u64;
                self.largest_haircut_share_ppm = self.largest_haircut_share_ppm.max(share);
                if equity_after < 0 && self.insolvent_candidate.is_none() {
                    self.insolvent_candidate = Some((candidate, equity_after));
                }
            }
            KeeperEffect::AdlSkipped { .. } => self.adl_skipped += 1,
            KeeperEffect::AdlInsurancePaid(paid) => self.insurance_paid_into_book += paid,
            KeeperEffect::AdlCompleted { to_insurance } => {
                self.adl_completed += 1;
                self.insurance_from_book += to_insurance;
            }
            KeeperEffect::FundingCrank => self.funding_cranks += 1,
        }
    }

    /// The insurance vault's lowest balance within a step and its balance at the step's end.
    pub fn observe_insurance(&mut self, low: u64, end: u64) {
        self.insurance_low = self.insurance_low.min(low);
        self.insurance_end = end;
    }

    /// DESIGN.md §12.5's second half, over every ADL fill so far.
    pub fn adl_candidates_solvent(&self) -> Result<(), Breach> {
        match self.insolvent_candidate {
            None => Ok(()),
            Some((candidate, equity)) => Err(Breach {
                invariant: "12.5 no ADL candidate below zero equity",
                detail: format!("candidate {candidate} left at equity {equity} atoms"),
            }),
        }
    }
}

/// Quote atoms as USDC with two decimals.
pub fn usd(atoms: u128) -> String {
    let cents = (atoms + USDC as u128 / 200) / (USDC as u128 / 100);
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", cents % 100)
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: [(&str, String); 24] = [
            ("scenario", format!("{} (seed {})", self.scenario, self.seed)),
            (
                "steps / traders / registry slots",
                format!("{} / {} / {}", self.steps, self.traders, self.registry_capacity),
            ),
            ("trades", self.trades.to_string()),
            ("volume (USDC at the oracle)", usd(self.volume_atoms)),
            ("withdrawn by flat traders (USDC)", usd(self.withdrawn_atoms as u128)),
            (
                "refused: taker orders / quotes / withdrawals",
                format!(
                    "{} / {} / {}",
                    self.orders_refused, self.quotes_refused, self.withdrawals_refused
                ),
            ),
            ("liquidations", self.liquidations.to_string()),
            ("lots liquidated", self.liquidated_lots.to_string()),
            (
                "bankruptcies (covered by insurance / into the ADL book)",
                format!(
                    "{} ({} / {})",
                    self.bankruptcies(),
                    self.bankruptcies_covered,
                    self.bankruptcies_into_book
                ),
            ),
            (
                "insurance paid: to bankruptcies / into the ADL book (USDC)",
                format!(
                    "{} / {}",
                    usd(self.insurance_paid as u128),
                    usd(self.insurance_paid_into_book as u128)
                ),
            ),
            (
                "insurance received: liquidation fees / closed books (USDC)",
                format!(
                    "{} / {}",
                    usd(self.insurance_fees as u128),
                    usd(self.insurance_from_book as u128)
                ),
            ),
            (
                "insurance start / low / end (USDC)",
                format!(
                    "{} / {} / {}",
                    usd(self.insurance_start as u128),
                    usd(self.insurance_low as u128),
                    usd(self.insurance_end as u128)
                ),
            ),
            (
                "ADL (started / completed / fills / left open at the end)",
                format!(
                    "{} / {} / {} / {}",
                    self.adl_started,
                    self.adl_completed,
                    self.adl_fills,
                    self.adl_open_at_end as u8
                ),
            ),
            ("ADL ranked positions skipped", self.adl_skipped.to_string()),
            ("ADL lots", self.adl_lots.to_string()),
            ("positions deleveraged", self.deleveraged.len().to_string()),
            (
                "largest ADL haircut (USDC / % of equity)",
                format!(
                    "{} / {}.{:02}%",
                    usd(self.largest_haircut as u128),
                    self.largest_haircut_share_ppm / 10_000,
                    self.largest_haircut_share_ppm % 10_000 / 100
                ),
            ),
            (
                "ranking sweeps (started / ranked / checked)",
                format!(
                    "{} / {} / {}",
                    self.sweeps_started, self.sweeps_ranked, self.sweeps_checked
                ),
            ),
            (
                "ranking: transactions / positions ranked",
                format!("{} / {}", self.rank_transactions, self.positions_ranked),
            ),
            (
                "steps ending in ADL (no eligible candidate)",
                format!(
                    "{} ({})",
                    self.steps_ending_in_adl, self.steps_in_adl_without_candidate
                ),
            ),
            ("funding cranks", self.funding_cranks.to_string()),
            ("keeper errors", self.keeper_errors.to_string()),
            (
                "solvency checked after every step",
                format!("{} of {} steps held", self.steps_held, self.steps),
            ),
            (
                "invariants",
                "vault = Σ equity (ADL book included), OI balanced, value conserved, no unbacked loss, ADL book = the market's, registry lists every position, ADL candidates ≥ 0, insurance pays only real losses (the book's first, and gets back only a closed book's leftover), ranking = top of every eligible position (each sweep ranked back to back), open orders = book"
                    .to_string(),
            ),
        ];
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (label, value) in lines {
            writeln!(f, "  {label:<width$}  {value}")?;
        }
        Ok(())
    }
}

impl Throughput {
    /// One transaction the simulator sent, of `instructions` instructions.
    pub fn count(&mut self, instructions: usize) {
        self.sim_transactions += 1;
        self.instructions += instructions as u64;
    }
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transactions = self.sim_transactions + self.keeper_transactions;
        let instructions = self.instructions + self.keeper_transactions;
        let secs = self.run.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "  setup {:.2} s; run {:.2} s ({:.2} s in the keeper)",
            self.setup.as_secs_f64(),
            secs,
            self.keeper_time.as_secs_f64()
        )?;
        writeln!(
            f,
            "  {transactions} transactions, {instructions} instructions through the bank: {:.0} tx/s, {:.0} instructions/s",
            transactions as f64 / secs,
            instructions as f64 / secs
        )
    }
}

/// The timeline as CSV, one row per step.
pub fn write_csv(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let mut out = String::from(
        "step,time_secs,oracle_usd,insurance_usdc,open_interest_lots,trades,liquidations,bankruptcies,adl_fills,adl_pending,status\n",
    );
    for r in rows {
        writeln!(
            out,
            "{},{},{:.2},{}.{:06},{},{},{},{},{},{},{}",
            r.step,
            r.time_secs,
            r.oracle_usd,
            r.insurance_atoms / USDC,
            r.insurance_atoms % USDC,
            r.open_interest_lots,
            r.trades,
            r.liquidations,
            r.bankruptcies,
            r.adl_fills,
            r.adl_pending as u8,
            r.status
        )
        .expect("write to a String");
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_rounds_to_cents_and_groups_thousands() {
        assert_eq!(usd(0), "0.00");
        assert_eq!(usd(1_234_567_890_004), "1,234,567.89");
        assert_eq!(usd(5_000), "0.01");
        assert_eq!(usd(999_995_000), "1,000.00");
    }
}
