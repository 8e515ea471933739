//! The in-process bank backend (solana-program-test's BanksClient), for tests and the simulator.
//! A bank has no account scan, so the embedder names the Position accounts to watch.
//!
//! Every read is a round trip to the bank's server task. An embedder that sends every
//! transaction through [`AccountCache`]-aware code (the simulator) can share one cache among its
//! chains and its own reads: an account is read once and kept until a transaction that may
//! write it is sent.
// The bank crates mark their API "unstable" (a deprecation warning); it is the bank we embed.
#![allow(deprecated)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anchor_lang::prelude::{Clock, Pubkey};
use futures::StreamExt;
use perps::state::Position;
use perps_client::accounts as decode;
use solana_banks_client::{BanksClient, BanksClientError};
use solana_instruction::{error::InstructionError, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::chain::{Chain, Fetched, SendError};

/// Polls, 1 ms apart, for a blockhash newer than the one an identical transaction used: the
/// bank registers one every slot (6.4 ms in solana-program-test).
const NEW_BLOCKHASH_POLLS: usize = 30_000;

/// Accounts as last read from the bank (absent ones too), each kept until a transaction that
/// may write it goes through [`AccountCache::sent`]. A transaction can change only its writable
/// accounts (its fee payer and the metas marked writable), so a cached account equals a fresh
/// read as long as every transaction sent to the bank is reported here, and nothing else writes
/// to the bank (`set_account`, `warp_to_slot`); sysvars are not meant to be read through it.
/// Clones share one cache.
#[derive(Clone, Default)]
pub struct AccountCache {
    accounts: Arc<Mutex<HashMap<Pubkey, Option<Fetched>>>>,
    verify: Arc<AtomicBool>,
}

impl AccountCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// `key` as the bank holds it: from the cache, or read and kept.
    pub async fn get(
        &self,
        client: &BanksClient,
        key: &Pubkey,
    ) -> Result<Option<Fetched>, BanksClientError> {
        let kept = self.lock().get(key).cloned();
        if let Some(kept) = kept {
            if self.verify.load(Ordering::Relaxed) {
                let fresh = fetch(client, key).await?;
                assert!(
                    fresh == kept,
                    "account {key} changed in the bank without a transaction reported to the cache"
                );
            }
            return Ok(kept);
        }
        let fetched = fetch(client, key).await?;
        self.lock().insert(*key, fetched.clone());
        Ok(fetched)
    }

    /// With `on`, every account served from the cache is also read afresh and must be the same
    /// (a panic otherwise): for tests that the embedder reports every transaction.
    pub fn verify(&self, on: bool) {
        self.verify.store(on, Ordering::Relaxed);
    }

    /// Forgets what a transaction of `instructions` paid by `payer` may have written, whether it
    /// landed or not (a failed transaction still pays its fee).
    pub fn sent(&self, payer: &Pubkey, instructions: &[Instruction]) {
        let mut accounts = self.lock();
        accounts.remove(payer);
        for meta in instructions.iter().flat_map(|i| &i.accounts) {
            if meta.is_writable {
                accounts.remove(&meta.pubkey);
            }
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Pubkey, Option<Fetched>>> {
        // A panic elsewhere cannot leave the map half-written: each access is one call.
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct BankChain {
    client: BanksClient,
    payer: Keypair,
    watched: Vec<Pubkey>,
    sent: HashSet<solana_transaction::Signature>,
    cache: Option<AccountCache>,
}

impl BankChain {
    pub fn new(client: BanksClient, payer: Keypair, watched: Vec<Pubkey>) -> Self {
        Self {
            client,
            payer,
            watched,
            sent: HashSet::new(),
            cache: None,
        }
    }

    /// Reads accounts through `cache` and reports every transaction it sends to it. Only for an
    /// embedder whose every transaction reaches the cache (see [`AccountCache`]).
    pub fn with_cache(mut self, cache: AccountCache) -> Self {
        self.cache = Some(cache);
        self
    }

    async fn read(&self, key: &Pubkey) -> Result<Option<Fetched>, BanksClientError> {
        match &self.cache {
            Some(cache) => cache.get(&self.client, key).await,
            None => fetch(&self.client, key).await,
        }
    }

    /// Executes and commits `tx` on the working bank at once (no status polling), and tells the
    /// cache what it may have written.
    async fn process(
        &self,
        tx: Transaction,
        instructions: &[Instruction],
    ) -> Result<(), SendError> {
        let outcome = self.client.process_transaction_with_metadata(tx).await;
        if let Some(cache) = &self.cache {
            cache.sent(&self.payer.pubkey(), instructions);
        }
        match outcome {
            Ok(outcome) => outcome
                .result
                .map_err(|e| send_error(BanksClientError::TransactionError(e))),
            Err(e) => Err(send_error(e)),
        }
    }

    /// Adds Position accounts to watch.
    pub fn watch(&mut self, positions: impl IntoIterator<Item = Pubkey>) {
        for key in positions {
            if !self.watched.contains(&key) {
                self.watched.push(key);
            }
        }
    }
}

async fn fetch(client: &BanksClient, key: &Pubkey) -> Result<Option<Fetched>, BanksClientError> {
    Ok(client.get_account(*key).await?.map(|a| Fetched {
        owner: a.owner,
        lamports: a.lamports,
        data: a.data,
    }))
}

fn send_error(error: BanksClientError) -> SendError {
    let transaction_error = match error {
        BanksClientError::TransactionError(e) => e,
        BanksClientError::SimulationError { err, .. } => err,
        other => return SendError::Failed(other.to_string()),
    };
    match transaction_error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
            SendError::Program(code)
        }
        other => SendError::Failed(other.to_string()),
    }
}

impl Chain for BankChain {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    /// The bank runs the program natively under its declared id.
    fn program_id(&self) -> Pubkey {
        perps::ID
    }

    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>> {
        Ok(self.read(key).await?)
    }

    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        let mut out = Vec::new();
        for key in &self.watched {
            if let Some(account) = self.read(key).await? {
                if let Ok(position) = decode::position(&account.data) {
                    if position.market == *market {
                        out.push((*key, position));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn unix_time(&mut self) -> anyhow::Result<i64> {
        Ok(self.client.get_sysvar::<Clock>().await?.unix_timestamp)
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        let mut blockhash = self
            .client
            .get_latest_blockhash()
            .await
            .map_err(|e| SendError::Failed(e.to_string()))?;
        let sign = |hash| {
            Transaction::new_signed_with_payer(
                instructions,
                Some(&self.payer.pubkey()),
                &[&self.payer],
                hash,
            )
        };
        let mut tx = sign(blockhash);
        // Ed25519 signatures are deterministic: an identical transaction needs a new blockhash.
        if self.sent.contains(&tx.signatures[0]) {
            // A loaded machine may take longer than a slot, and resending the old one would
            // only be dropped as a duplicate.
            let stale = blockhash;
            for _ in 0..NEW_BLOCKHASH_POLLS {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                blockhash = self
                    .client
                    .get_latest_blockhash()
                    .await
                    .map_err(|e| SendError::Failed(e.to_string()))?;
                if blockhash != stale {
                    break;
                }
            }
            if blockhash == stale {
                return Err(SendError::Failed(
                    "the bank registered no new blockhash for 30 s".into(),
                ));
            }
            tx = sign(blockhash);
        }
        self.sent.insert(tx.signatures[0]);
        self.process(tx, instructions).await
    }

    /// Signs every transaction with one blockhash and processes those never sent before
    /// concurrently (the bank's server runs them as they come); one identical to an earlier
    /// transaction waits for a new blockhash in `send`.
    async fn send_all(
        &mut self,
        transactions: Vec<Vec<Instruction>>,
        in_flight: usize,
    ) -> Vec<Result<(), SendError>> {
        let blockhash = match self.client.get_latest_blockhash().await {
            Ok(hash) => hash,
            Err(e) => {
                let error = SendError::Failed(e.to_string());
                return transactions.iter().map(|_| Err(error.clone())).collect();
            }
        };
        let mut fresh = Vec::new();
        let mut repeated = Vec::new();
        for (i, instructions) in transactions.iter().enumerate() {
            let tx = Transaction::new_signed_with_payer(
                instructions,
                Some(&self.payer.pubkey()),
                &[&self.payer],
                blockhash,
            );
            if self.sent.insert(tx.signatures[0]) {
                fresh.push((i, tx));
            } else {
                repeated.push(i);
            }
        }
        let (this, all) = (&*self, &transactions);
        let mut results: Vec<(usize, Result<(), SendError>)> = futures::stream::iter(
            fresh
                .into_iter()
                .map(|(i, tx)| async move { (i, this.process(tx, &all[i]).await) }),
        )
        .buffer_unordered(in_flight.max(1))
        .collect()
        .await;
        for i in repeated {
            results.push((i, self.send(&transactions[i]).await));
        }
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }
}
