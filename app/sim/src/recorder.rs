//! The keeper's chain, recorded: each liquidation, ADL fill and funding crank the keeper lands is
//! measured from the accounts it touched, read just before and just after. The bank runs the
//! program natively, where Anchor's events are not logged, so the accounts are the record.
#![allow(deprecated)]

use anchor_lang::{prelude::Pubkey, Discriminator};
use perps::state::{Market, Position};
use perps_client::sizing::equity_at;
use perps_client::{accounts as decode, pda};
use perps_engine::Price;
use perps_keeper::bank::BankChain;
use perps_keeper::chain::{Chain, Fetched, SendError};
use perps_testkit::invariants::{self, Breach};
use solana_instruction::Instruction;

/// What one landed keeper transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeeperEffect {
    Liquidation {
        position: Pubkey,
        /// Lots the liquidator took over (0 when the position went to the ADL queue instead).
        lots: u64,
        /// What the insurance vault paid towards the position's deficit.
        insurance_paid: u64,
        /// What the insurance vault received as its liquidation fee.
        insurance_fee: u64,
        /// The vault could not cover the deficit: the position waits for ADL.
        queued_for_adl: bool,
    },
    AdlFill {
        candidate: Pubkey,
        lots: u64,
        /// Equity the candidate gave up by closing at the bankruptcy price instead of the
        /// oracle's (quote atoms), and its equity at the oracle just before.
        haircut: u64,
        equity_before: u64,
        /// The candidate's equity at the oracle after its fill (DESIGN.md §12.5: never below 0).
        equity_after: i128,
    },
    AdlCompleted,
    /// The queued position left the queue with no fill: the price (or a deposit) made it solvent
    /// again, or the insurance vault covered what it lacked.
    AdlClearedByPrice,
    /// An `adl` drew on the insurance vault before haircutting candidates (DESIGN.md §7).
    AdlInsurancePaid(u64),
    FundingCrank,
}

pub struct RecordingChain {
    inner: BankChain,
    market: Pubkey,
    insurance_vault: Pubkey,
    /// The oracle price (quote atoms per lot) of the current step, which ADL haircuts are
    /// measured against.
    pub price: Price,
    pub effects: Vec<KeeperEffect>,
    /// The insurance vault's lowest balance seen since last taken.
    pub insurance_low: Option<u64>,
    /// Transactions sent, landed or not.
    pub transactions: u64,
    /// Invariants broken by a transaction, judged from the accounts just before and after it
    /// (DESIGN.md §12.6: what the insurance vault paid in a liquidation, what came back to it
    /// when a queued position left the queue unclosed).
    pub breaches: Vec<Breach>,
}

struct Snapshot {
    market: Market,
    insurance: u64,
    positions: Vec<(Pubkey, Position)>,
}

impl Snapshot {
    fn state(&self, price: Price) -> invariants::MarketState<'_> {
        invariants::MarketState {
            market: &self.market,
            positions: &self.positions,
            price,
        }
    }
}

impl RecordingChain {
    pub fn new(inner: BankChain, market: Pubkey) -> Self {
        Self {
            inner,
            market,
            insurance_vault: pda::insurance_vault(&market),
            price: Price(0),
            effects: Vec::new(),
            insurance_low: None,
            transactions: 0,
            breaches: Vec::new(),
        }
    }

    /// The Position accounts among `keys`, as they are now (read through the keeper's chain, so
    /// through its account cache when it has one).
    async fn snapshot(&mut self, keys: &[Pubkey]) -> anyhow::Result<Snapshot> {
        let market = self
            .inner
            .account(&self.market)
            .await?
            .ok_or_else(|| anyhow::anyhow!("market missing"))?;
        let market = decode::market(&market.data).map_err(|e| anyhow::anyhow!("market: {e}"))?;
        let insurance = self
            .inner
            .account(&self.insurance_vault)
            .await?
            .ok_or_else(|| anyhow::anyhow!("insurance vault missing"))?;
        let insurance = decode::token_amount(&insurance.data)?;
        self.insurance_low = Some(
            self.insurance_low
                .map_or(insurance, |low| low.min(insurance)),
        );
        let mut positions = Vec::new();
        for key in keys {
            if let Some(account) = self.inner.account(key).await? {
                if account.owner == perps::ID {
                    if let Ok(position) = decode::position(&account.data) {
                        positions.push((*key, position));
                    }
                }
            }
        }
        Ok(Snapshot {
            market,
            insurance,
            positions,
        })
    }

    fn record(&mut self, instruction: &Instruction, before: &Snapshot, after: &Snapshot) {
        let data = &instruction.data;
        let lots_of = |snapshot: &Snapshot, key: &Pubkey| {
            snapshot
                .positions
                .iter()
                .find(|(k, _)| k == key)
                .map_or(0, |(_, p)| p.base_lots)
        };
        if data.starts_with(perps::instruction::Liquidate::DISCRIMINATOR) {
            let own = pda::position(&self.market, &self.inner.payer());
            let Some((target, position)) = before.positions.iter().find(|(k, _)| *k != own) else {
                return;
            };
            // A bankrupt position pays no insurance fee (it is capped at what keeps it
            // solvent), so the vault's change is either the fee or minus what it paid.
            let change = after.insurance as i128 - before.insurance as i128;
            let paid = (-change).max(0) as u64;
            if let Err(breach) = invariants::insurance_pays_only_real_losses(
                &before.market,
                target,
                position,
                self.price,
                paid,
            ) {
                self.breaches.push(breach);
            }
            self.effects.push(KeeperEffect::Liquidation {
                position: *target,
                lots: lots_of(before, target).abs_diff(lots_of(after, target)),
                insurance_paid: paid,
                insurance_fee: change.max(0) as u64,
                queued_for_adl: before.market.adl_pending == 0 && after.market.adl_pending != 0,
            });
        } else if data.starts_with(perps::instruction::Adl::DISCRIMINATOR) {
            let bankrupt = before.market.adl_position;
            if after.insurance < before.insurance {
                self.effects.push(KeeperEffect::AdlInsurancePaid(
                    before.insurance - after.insurance,
                ));
            }
            for (key, position) in &before.positions {
                let lots = lots_of(before, key).abs_diff(lots_of(after, key));
                if *key == bankrupt || lots == 0 {
                    continue;
                }
                let Some((_, now)) = after.positions.iter().find(|(k, _)| k == key) else {
                    continue;
                };
                // An equity that overflows is recorded as the lowest, so the §12.5 check fails.
                let equity_before = equity_at(&before.market, position, self.price).unwrap_or(0);
                let equity_after = equity_at(&after.market, now, self.price).unwrap_or(i128::MIN);
                self.effects.push(KeeperEffect::AdlFill {
                    candidate: *key,
                    lots,
                    haircut: (equity_before - equity_after).max(0) as u64,
                    equity_before: equity_before.max(0) as u64,
                    equity_after,
                });
            }
            if let Err(breach) = invariants::queue_exit_returns_the_vaults_contribution(
                before.state(self.price),
                after.state(self.price),
                (before.insurance, after.insurance),
            ) {
                self.breaches.push(breach);
            }
            if before.market.adl_pending != 0 && after.market.adl_pending == 0 {
                let filled = lots_of(before, &bankrupt) != lots_of(after, &bankrupt);
                self.effects.push(if filled {
                    KeeperEffect::AdlCompleted
                } else {
                    KeeperEffect::AdlClearedByPrice
                });
            }
        } else if data.starts_with(perps::instruction::CrankFunding::DISCRIMINATOR) {
            self.effects.push(KeeperEffect::FundingCrank);
        }
    }
}

impl Chain for RecordingChain {
    fn payer(&self) -> Pubkey {
        self.inner.payer()
    }

    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>> {
        self.inner.account(key).await
    }

    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        self.inner.positions(market).await
    }

    async fn unix_time(&mut self) -> anyhow::Result<i64> {
        self.inner.unix_time().await
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        // Effects are told apart by the accounts of one instruction (the keeper sends one a
        // transaction); two would share a before/after snapshot and be counted twice.
        if instructions
            .iter()
            .filter(|i| i.program_id == perps::ID)
            .count()
            > 1
        {
            return Err(SendError::Failed(
                "the recorder measures one perps instruction a transaction".into(),
            ));
        }
        self.transactions += 1;
        let keys: Vec<Pubkey> = instructions
            .iter()
            .filter(|i| i.program_id == perps::ID)
            .flat_map(|i| {
                i.accounts
                    .iter()
                    .filter(|a| a.is_writable)
                    .map(|a| a.pubkey)
            })
            .collect();
        let failed = |e: anyhow::Error| SendError::Failed(format!("recorder: {e}"));
        let before = self.snapshot(&keys).await.map_err(failed)?;
        self.inner.send(instructions).await?;
        let after = self.snapshot(&keys).await.map_err(failed)?;
        for instruction in instructions.iter().filter(|i| i.program_id == perps::ID) {
            self.record(instruction, &before, &after);
        }
        Ok(())
    }
}
