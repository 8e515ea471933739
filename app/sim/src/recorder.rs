//! The keeper's chain, recorded: each liquidation, ranking chunk, ADL step and funding crank the
//! keeper lands is measured from the accounts it touched, read just before and just after. The
//! bank runs the program natively, where Anchor's events are not logged, so the accounts are the
//! record.
#![allow(deprecated)]

use anchor_lang::{prelude::Pubkey, Discriminator};
use perps::state::{side_from_code, Market, Position};
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
        /// Lots the liquidator took over (0 when the position went into the ADL book instead).
        lots: u64,
        /// What the insurance vault paid towards the position's deficit (into the book, for one
        /// taken over).
        insurance_paid: u64,
        /// What the insurance vault received as its liquidation fee.
        insurance_fee: u64,
        /// The vault could not cover the deficit: the market's ADL book took the position over.
        into_adl_book: bool,
        /// ... and the market entered ADL with it (its book was empty before).
        adl_started: bool,
    },
    /// A ranking sweep started (the market entered ADL, its book changed sides, or a ranking was
    /// used up with lots left).
    SweepStarted,
    /// A `rank_adl_candidates` chunk ranked `positions` positions; `completed` when it was the
    /// sweep's last, and `checked` when the sweep's ranking was then checked against every
    /// position (its chunks were sent back to back by this keeper, from the first).
    Ranked {
        positions: u64,
        completed: bool,
        checked: bool,
    },
    AdlFill {
        candidate: Pubkey,
        lots: u64,
        /// Equity the candidate gave up by closing at the book's bankruptcy price instead of the
        /// oracle's (quote atoms), and its equity at the oracle just before.
        haircut: u64,
        equity_before: u64,
        /// The candidate's equity at the oracle after its fill (DESIGN.md §12.5: never below 0).
        equity_after: i128,
    },
    /// A ranked position an `adl` step passed over: closed, flipped, liquidatable, or without
    /// equity to give.
    AdlSkipped {
        candidate: Pubkey,
    },
    /// An `adl` step drew on the insurance vault for the book before haircutting anyone
    /// (DESIGN.md §7).
    AdlInsurancePaid(u64),
    /// The book was closed and the market left ADL; what it had left went to the insurance vault.
    AdlCompleted {
        to_insurance: u64,
    },
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
    /// (DESIGN.md §12.6: what the insurance vault paid in a liquidation or an ADL step), and the
    /// ranking of a sweep this chain ranked from its first chunk to its last with nothing else
    /// sent in between.
    pub breaches: Vec<Breach>,
    /// The sweep this chain has ranked every chunk of so far, sent back to back from its first.
    ranking_run: Option<u32>,
}

struct Snapshot {
    market: Market,
    insurance: u64,
    positions: Vec<(Pubkey, Position)>,
    /// The registry, when the transaction may write it.
    registry: Option<decode::Registry>,
}

fn lots_of(snapshot: &Snapshot, key: &Pubkey) -> i64 {
    snapshot
        .positions
        .iter()
        .find(|(k, _)| k == key)
        .map_or(0, |(_, p)| p.base_lots)
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
            ranking_run: None,
        }
    }

    async fn read_market(&mut self) -> anyhow::Result<Market> {
        let market = self
            .inner
            .account(&self.market)
            .await?
            .ok_or_else(|| anyhow::anyhow!("market missing"))?;
        decode::market(&market.data).map_err(|e| anyhow::anyhow!("market: {e}"))
    }

    /// The market, the insurance vault, the Position accounts among `keys` and the registry if
    /// among them, as they are now (read through the keeper's chain, so through its account
    /// cache when it has one).
    async fn snapshot(&mut self, keys: &[Pubkey]) -> anyhow::Result<Snapshot> {
        let market = self.read_market().await?;
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
        let mut registry = None;
        for key in keys {
            if *key == market.position_registry {
                if let Some(account) = self.inner.account(key).await? {
                    registry = Some(
                        decode::registry(&account.data)
                            .map_err(|e| anyhow::anyhow!("registry: {e}"))?,
                    );
                }
                continue;
            }
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
            registry,
        })
    }

    async fn record(&mut self, instruction: &Instruction, before: &Snapshot, after: &Snapshot) {
        let data = &instruction.data;
        let is_rank = data.starts_with(perps::instruction::RankAdlCandidates::DISCRIMINATOR);
        if !is_rank {
            // Anything else sent breaks a run of ranking chunks.
            self.ranking_run = None;
        }
        if after.market.adl_sweep > before.market.adl_sweep {
            self.effects.push(KeeperEffect::SweepStarted);
        }
        if data.starts_with(perps::instruction::Liquidate::DISCRIMINATOR) {
            self.record_liquidation(before, after);
        } else if data.starts_with(perps::instruction::Adl::DISCRIMINATOR) {
            self.record_adl(instruction, before, after);
        } else if is_rank {
            self.record_rank(instruction, before, after).await;
        } else if data.starts_with(perps::instruction::CrankFunding::DISCRIMINATOR) {
            self.effects.push(KeeperEffect::FundingCrank);
        }
    }

    fn record_liquidation(&mut self, before: &Snapshot, after: &Snapshot) {
        let own = pda::position(&self.market, &self.inner.payer());
        let Some((target, position)) = before.positions.iter().find(|(k, _)| *k != own) else {
            return;
        };
        // A bankrupt position pays no insurance fee (it is capped at what keeps it solvent), so
        // the vault's change is either the fee or minus what it paid.
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
        // A takeover adds the position's (non-zero) lots to the book; nothing else moves them.
        let into_adl_book = before.market.adl_book.base_lots != after.market.adl_book.base_lots;
        self.effects.push(KeeperEffect::Liquidation {
            position: *target,
            lots: if into_adl_book {
                0
            } else {
                lots_of(before, target).abs_diff(lots_of(after, target))
            },
            insurance_paid: paid,
            insurance_fee: change.max(0) as u64,
            into_adl_book,
            adl_started: !before.market.is_adl_pending() && after.market.is_adl_pending(),
        });
    }

    fn record_adl(&mut self, instruction: &Instruction, before: &Snapshot, after: &Snapshot) {
        const NAME: &str = "12.6 insurance pays the ADL book's real loss first, and gets back only what a closed book has left";
        // The vault pays first what it holds above its floor, up to the book's deficit at the
        // oracle; a closed book's leftover comes back. The vault's change is the difference.
        let deficit = equity_at(&before.market, &before.market.adl_book, self.price)
            .map_or(0, |equity| (-equity).max(0));
        let available = before
            .insurance
            .saturating_sub(before.market.params.insurance_floor);
        let from_insurance = (available as i128).min(deficit) as u64;
        let to_insurance =
            after.insurance as i128 - before.insurance as i128 + from_insurance as i128;
        if from_insurance > 0 {
            self.effects
                .push(KeeperEffect::AdlInsurancePaid(from_insurance));
        }
        let closed = before.market.is_adl_pending() && !after.market.is_adl_pending();
        if to_insurance < 0 || (!closed && to_insurance != 0) {
            self.breaches.push(Breach {
                invariant: NAME,
                detail: format!(
                    "an adl step moved the insurance vault from {} to {} atoms; the book's deficit at the oracle was {deficit} atoms with {available} available, and the book {}",
                    before.insurance,
                    after.insurance,
                    if closed { "closed" } else { "stayed open" }
                ),
            });
        }

        // The candidates supplied, in ranking order: each one the program reached was filled
        // or skipped; it stops at the one that closes the book, and reaches none when the
        // ranking no longer faces the book (it starts a new sweep instead).
        let supplied = perps_client::adl::entries_in_step(instruction);
        // The market's candidate side is the synced registry's (both change with a new sweep).
        let faces_book = before.market.adl_book_side().is_some_and(|book_side| {
            side_from_code(before.market.adl_candidate_side).ok() == Some(book_side.opposite())
        });
        let filled: Vec<bool> = supplied
            .iter()
            .map(|key| lots_of(before, key) != lots_of(after, key))
            .collect();
        let reached = if !faces_book {
            0
        } else if after.market.adl_book.base_lots == 0 {
            filled
                .iter()
                .rposition(|f| *f)
                .map_or(supplied.len(), |i| i + 1)
        } else {
            supplied.len()
        };
        for (key, filled) in supplied.iter().zip(&filled).take(reached) {
            if !filled {
                self.effects
                    .push(KeeperEffect::AdlSkipped { candidate: *key });
                continue;
            }
            let (Some((_, was)), Some((_, now))) = (
                before.positions.iter().find(|(k, _)| k == key),
                after.positions.iter().find(|(k, _)| k == key),
            ) else {
                continue;
            };
            // An equity that overflows is recorded as the lowest, so the §12.5 check fails.
            let equity_before = equity_at(&before.market, was, self.price).unwrap_or(0);
            let equity_after = equity_at(&after.market, now, self.price).unwrap_or(i128::MIN);
            self.effects.push(KeeperEffect::AdlFill {
                candidate: *key,
                lots: was.base_lots.abs_diff(now.base_lots),
                haircut: (equity_before - equity_after).max(0) as u64,
                equity_before: equity_before.max(0) as u64,
                equity_after,
            });
        }
        if closed {
            self.effects.push(KeeperEffect::AdlCompleted {
                to_insurance: to_insurance.max(0) as u64,
            });
        }
    }

    async fn record_rank(
        &mut self,
        instruction: &Instruction,
        before: &Snapshot,
        after: &Snapshot,
    ) {
        let positions = perps_client::adl::positions_in_chunk(instruction) as u64;
        let sweep = after.market.adl_sweep;
        let progress = |snapshot: &Snapshot| {
            snapshot
                .registry
                .as_ref()
                .filter(|r| r.header.sweep == sweep)
                .map(|r| (r.header.slots_ranked, r.header.is_ranked()))
        };
        let (ranked_before, done_before) = progress(before).unwrap_or((0, false));
        let done_after = progress(after).is_some_and(|(_, done)| done);
        let completed = done_after && !done_before;
        // A run of chunks starts with the sweep's first one and goes on while this chain sends
        // nothing else.
        if ranked_before == 0 {
            self.ranking_run = Some(sweep);
        } else if self.ranking_run != Some(sweep) {
            self.ranking_run = None;
        }
        let checked = completed && self.ranking_run == Some(sweep);
        self.effects.push(KeeperEffect::Ranked {
            positions,
            completed,
            checked,
        });
        if checked {
            // No position changed since the sweep's first chunk: the ranking must be the top of
            // every eligible position at the snapshot price.
            self.ranking_run = None;
            let positions = match self.inner.positions(&self.market).await {
                Ok(positions) => positions,
                Err(e) => {
                    self.breaches.push(Breach {
                        invariant: "the ranking is the top of every eligible position",
                        detail: format!("the positions cannot be read: {e}"),
                    });
                    return;
                }
            };
            if let Some(registry) = &after.registry {
                if let Err(breach) = invariants::ranking_is_the_top_of_every_eligible_position(
                    &after.market,
                    registry,
                    &positions,
                ) {
                    self.breaches.push(breach);
                }
            }
        }
    }
}

impl Chain for RecordingChain {
    fn payer(&self) -> Pubkey {
        self.inner.payer()
    }

    fn program_id(&self) -> Pubkey {
        self.inner.program_id()
    }

    fn adl_candidates_per_transaction(&self) -> usize {
        self.inner.adl_candidates_per_transaction()
    }

    fn makers_per_transaction(&self) -> usize {
        self.inner.makers_per_transaction()
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
        let sent = self.inner.send(instructions).await;
        if sent.is_err() {
            // Nothing landed; a sweep whose chunk did not land is finished later, perhaps
            // after positions changed, so its ranking is not checked.
            self.ranking_run = None;
            return sent;
        }
        let after = self.snapshot(&keys).await.map_err(failed)?;
        for instruction in instructions.iter().filter(|i| i.program_id == perps::ID) {
            self.record(instruction, &before, &after).await;
        }
        Ok(())
    }
}
