//! The in-process bank backend (solana-program-test's BanksClient), for tests and the simulator.
//! A bank has no account scan, so the embedder names the Position accounts to watch.
// The bank crates mark their API "unstable" (a deprecation warning); it is the bank we embed.
#![allow(deprecated)]

use std::collections::HashSet;

use anchor_lang::prelude::{Clock, Pubkey};
use perps::state::Position;
use perps_client::accounts as decode;
use solana_banks_client::{BanksClient, BanksClientError};
use solana_instruction::{error::InstructionError, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::chain::{Chain, Fetched, SendError};

/// Polls, 50 ms apart, for a blockhash newer than the one an identical transaction used.
const NEW_BLOCKHASH_POLLS: usize = 600;

pub struct BankChain {
    client: BanksClient,
    payer: Keypair,
    watched: Vec<Pubkey>,
    sent: HashSet<solana_transaction::Signature>,
}

impl BankChain {
    pub fn new(client: BanksClient, payer: Keypair, watched: Vec<Pubkey>) -> Self {
        Self {
            client,
            payer,
            watched,
            sent: HashSet::new(),
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

    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>> {
        Ok(self.client.get_account(*key).await?.map(|a| Fetched {
            owner: a.owner,
            data: a.data,
        }))
    }

    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        let mut out = Vec::new();
        for key in self.watched.clone() {
            if let Some(account) = self.client.get_account(key).await? {
                if let Ok(position) = decode::position(&account.data) {
                    if position.market == *market {
                        out.push((key, position));
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
            // The bank registers a new blockhash every slot (400 ms); a loaded machine may be
            // slower, and resending the old one would only be dropped as a duplicate.
            let stale = blockhash;
            for _ in 0..NEW_BLOCKHASH_POLLS {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
        // Executed and committed on the working bank at once (no status polling).
        match self.client.process_transaction_with_metadata(tx).await {
            Ok(outcome) => outcome
                .result
                .map_err(|e| send_error(BanksClientError::TransactionError(e))),
            Err(e) => Err(send_error(e)),
        }
    }
}
