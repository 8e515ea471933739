//! The cluster backend: nonblocking RPC, getProgramAccounts filtered by market, and one sending
//! layer for every keeper action: the compute-unit price from the cluster's recent
//! prioritization fees over the accounts written, the limit from a simulation, v0 transactions
//! reading the market's fixed accounts from its lookup table, sent and confirmed with retries.

use std::collections::HashMap;
use std::time::Duration;

use anchor_lang::{prelude::Pubkey, solana_program::sysvar::SysvarId, Discriminator};
use futures::StreamExt;
use perps::state::Position;
use perps_client::accounts as decode;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_address_lookup_table_interface::instruction as alt;
use solana_commitment_config::CommitmentConfig;
use solana_instruction::{error::InstructionError, Instruction};
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, VersionedMessage};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSimulateTransactionConfig;
use solana_rpc_client_api::{
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
    filter::{Memcmp, RpcFilterType},
};
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;
use tracing::debug;

use crate::chain::{Chain, Fetched, SendError};
use crate::send;
use crate::subscription::PositionCache;

/// Attempts per transaction when the failure is not the program's (expired blockhash, timeout).
const SEND_ATTEMPTS: usize = 3;
/// Offset of the unix timestamp in the Clock sysvar (slot, epoch start, epoch, leader epoch).
const CLOCK_UNIX_TIMESTAMP_OFFSET: usize = 32;

/// How every transaction is priced and sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendPolicy {
    /// The percentile of the recent prioritization fees over the written accounts to pay.
    pub fee_percentile: u8,
    /// The most the keeper pays, micro-lamports per compute unit.
    pub max_compute_unit_price: u64,
    /// Added to the simulated compute units, in percent.
    pub compute_unit_margin_percent: u32,
}

/// How one transaction was priced, sized and packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentTransaction {
    pub compute_unit_price: u64,
    pub simulated_units: u64,
    pub compute_unit_limit: u32,
    /// Lookup tables the v0 message reads accounts from.
    pub lookups: usize,
}

pub struct RpcChain {
    client: RpcClient,
    payer: Keypair,
    program_id: Pubkey,
    policy: SendPolicy,
    lookup_tables: Vec<AddressLookupTableAccount>,
    last_send: std::sync::Mutex<Option<SentTransaction>>,
    subscriptions: HashMap<Pubkey, PositionCache>,
}

impl RpcChain {
    pub fn new(url: String, payer: Keypair, program_id: Pubkey, policy: SendPolicy) -> Self {
        Self {
            client: RpcClient::new_with_commitment(url, CommitmentConfig::confirmed()),
            payer,
            program_id,
            policy,
            lookup_tables: Vec::new(),
            last_send: std::sync::Mutex::new(None),
            subscriptions: HashMap::new(),
        }
    }

    /// Fails with a clear message when the RPC does not answer.
    pub async fn check_reachable(&self) -> anyhow::Result<()> {
        self.client
            .get_version()
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("RPC {} unreachable: {e}", self.client.url()))
    }
}

impl Chain for RpcChain {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    fn program_id(&self) -> Pubkey {
        self.program_id
    }

    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>> {
        let response = self
            .client
            .get_account_with_commitment(key, self.client.commitment())
            .await?;
        Ok(response.value.map(|a| Fetched {
            owner: a.owner,
            lamports: a.lamports,
            data: a.data,
        }))
    }

    /// From the market's subscription when it is live and synced; a snapshot that syncs it when
    /// it (re)connected; the getProgramAccounts poll otherwise.
    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        if let Some(cache) = self.subscriptions.get(market) {
            if let Some(positions) = cache.positions() {
                return Ok(positions);
            }
            if cache.needs_snapshot() {
                // The slot first: the snapshot is at least as new.
                let slot = self.client.get_slot().await?;
                let snapshot = self.scan(market).await?;
                cache.load_snapshot(slot, &snapshot);
                return Ok(snapshot);
            }
        }
        self.scan(market).await
    }

    async fn unix_time(&mut self) -> anyhow::Result<i64> {
        let clock = self
            .client
            .get_account(&anchor_lang::prelude::Clock::id())
            .await?;
        let bytes = clock
            .data
            .get(CLOCK_UNIX_TIMESTAMP_OFFSET..CLOCK_UNIX_TIMESTAMP_OFFSET + 8)
            .ok_or_else(|| anyhow::anyhow!("clock sysvar too short"))?;
        Ok(i64::from_le_bytes(bytes.try_into()?))
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        self.send_with_retries(instructions).await
    }

    async fn send_all(
        &mut self,
        transactions: Vec<Vec<Instruction>>,
        in_flight: usize,
    ) -> Vec<Result<(), SendError>> {
        let this = &*self;
        futures::stream::iter(transactions.iter().map(|t| this.send_with_retries(t)))
            .buffered(in_flight.max(1))
            .collect()
            .await
    }

    fn makers_per_transaction(&self) -> usize {
        if self.lookup_tables.is_empty() {
            send::LEGACY_MAKERS_PER_TRANSACTION
        } else {
            send::V0_MAKERS_PER_TRANSACTION
        }
    }

    fn adl_candidates_per_transaction(&self) -> usize {
        if self.lookup_tables.is_empty() {
            perps_client::adl::ADL_CANDIDATES_PER_TRANSACTION
        } else {
            send::V0_ADL_CANDIDATES_PER_TRANSACTION
        }
    }
}

/// The Position accounts of `market`: their size, discriminator and market.
fn position_filter(market: &Pubkey) -> RpcProgramAccountsConfig {
    RpcProgramAccountsConfig {
        filters: Some(vec![
            RpcFilterType::DataSize((8 + std::mem::size_of::<Position>()) as u64),
            RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, Position::DISCRIMINATOR.to_vec())),
            RpcFilterType::Memcmp(Memcmp::new_raw_bytes(8, market.to_bytes().to_vec())),
        ]),
        account_config: RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            ..RpcAccountInfoConfig::default()
        },
        ..RpcProgramAccountsConfig::default()
    }
}

impl RpcChain {
    /// Keeps each of `markets`' positions current by a `programSubscribe` at `ws_url`.
    pub fn subscribe(&mut self, ws_url: &str, markets: &[Pubkey]) {
        for market in markets {
            self.subscriptions.insert(
                *market,
                PositionCache::spawn(ws_url.to_string(), self.program_id, position_filter(market)),
            );
        }
    }

    /// The subscription of `market`, if any.
    pub fn subscription(&self, market: &Pubkey) -> Option<&PositionCache> {
        self.subscriptions.get(market)
    }

    /// Every Position of `market` by getProgramAccounts.
    async fn scan(&self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        #[allow(deprecated)]
        let accounts = self
            .client
            .get_program_accounts_with_config(&self.program_id, position_filter(market))
            .await?;
        Ok(accounts
            .into_iter()
            .filter_map(|(key, account)| decode::position(&account.data).ok().map(|p| (key, p)))
            .collect())
    }

    /// One transaction, attempted again while the failure is the transport's.
    async fn send_with_retries(&self, instructions: &[Instruction]) -> Result<(), SendError> {
        let mut last = SendError::Failed("not sent".into());
        for attempt in 0..SEND_ATTEMPTS {
            match self.send_once(instructions).await {
                Err(Retry::Again(e)) => {
                    last = e;
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                Err(Retry::Final(e)) => return Err(e),
                Ok(()) => return Ok(()),
            }
        }
        Err(last)
    }
}

/// Whether a failed send is worth another attempt.
enum Retry {
    /// The transport, an expired blockhash: the same transaction may land.
    Again(SendError),
    /// The program or the runtime refused it: it would be refused again.
    Final(SendError),
}

/// A transaction error as the keeper reports it: the program's own refusals by code.
fn classify(error: TransactionError) -> Retry {
    match error {
        TransactionError::InstructionError(index, InstructionError::Custom(code))
            if index >= send::FIRST_KEEPER_INSTRUCTION
                && code >= anchor_lang::error::ERROR_CODE_OFFSET =>
        {
            Retry::Final(SendError::Program(code))
        }
        TransactionError::BlockhashNotFound => {
            Retry::Again(SendError::Failed("blockhash not found".into()))
        }
        other => Retry::Final(SendError::Failed(other.to_string())),
    }
}

impl RpcChain {
    /// One attempt: the fee from the cluster, the limit from a simulation, then a v0
    /// transaction sent and confirmed.
    async fn send_once(&self, instructions: &[Instruction]) -> Result<(), Retry> {
        let transport = |what: &str, e: &dyn std::fmt::Display| {
            Retry::Again(SendError::Failed(format!("{what}: {e}")))
        };
        let payer = self.payer.pubkey();
        let recent = self
            .client
            .get_recent_prioritization_fees(&send::written_accounts(&payer, instructions))
            .await
            .map_err(|e| transport("getRecentPrioritizationFees", &e))?;
        let price = send::priority_fee(
            recent.iter().map(|f| f.prioritization_fee).collect(),
            self.policy.fee_percentile,
            self.policy.max_compute_unit_price,
        );
        let blockhash = self
            .client
            .get_latest_blockhash()
            .await
            .map_err(|e| transport("getLatestBlockhash", &e))?;
        let prepare = |limit| {
            send::v0_message(
                &payer,
                instructions,
                limit,
                price,
                &self.lookup_tables,
                blockhash,
            )
            .map_err(|e| Retry::Final(SendError::Failed(e.to_string())))
        };
        let probe = self.sign(prepare(send::MAX_COMPUTE_UNIT_LIMIT)?)?;
        let simulation = self
            .client
            .simulate_transaction_with_config(
                &probe,
                RpcSimulateTransactionConfig {
                    sig_verify: false,
                    replace_recent_blockhash: false,
                    commitment: Some(self.client.commitment()),
                    ..RpcSimulateTransactionConfig::default()
                },
            )
            .await
            .map_err(|e| transport("simulateTransaction", &e))?
            .value;
        // A refusal in simulation costs nothing: it is not sent.
        if let Some(error) = simulation.err {
            return Err(classify(TransactionError::from(error)));
        }
        let simulated = simulation.units_consumed.ok_or_else(|| {
            Retry::Final(SendError::Failed(
                "simulateTransaction returned no unitsConsumed".into(),
            ))
        })?;
        let limit = send::compute_unit_limit(simulated, self.policy.compute_unit_margin_percent);
        let tx = self.sign(prepare(limit)?)?;
        debug!(price, simulated, limit, "sending");
        *self.last_send.lock().unwrap_or_else(|e| e.into_inner()) = Some(SentTransaction {
            compute_unit_price: price,
            simulated_units: simulated,
            compute_unit_limit: limit,
            lookups: match &tx.message {
                VersionedMessage::V0(m) => m.address_table_lookups.len(),
                VersionedMessage::Legacy(_) => 0,
            },
        });
        match self.client.send_and_confirm_transaction(&tx).await {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.get_transaction_error() {
                Some(error) => classify(error),
                None => transport("sendTransaction", &e),
            }),
        }
    }

    fn sign(&self, message: VersionedMessage) -> Result<VersionedTransaction, Retry> {
        VersionedTransaction::try_new(message, &[&self.payer])
            .map_err(|e| Retry::Final(SendError::Failed(format!("signing: {e}"))))
    }

    /// How the last transaction sent was priced, sized and packed.
    pub fn last_send(&self) -> Option<SentTransaction> {
        *self.last_send.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Uses the lookup table at `table` for every transaction; it must hold every one of
    /// `expected` (the market's fixed accounts).
    pub async fn use_lookup_table(
        &mut self,
        table: Pubkey,
        expected: &[Pubkey],
    ) -> anyhow::Result<()> {
        let account = self
            .client
            .get_account_with_commitment(&table, self.client.commitment())
            .await?
            .value
            .ok_or_else(|| anyhow::anyhow!("lookup table {table} does not exist"))?;
        let loaded = send::lookup_table(table, &account.data, expected)?;
        self.lookup_tables.retain(|t| t.key != table);
        self.lookup_tables.push(loaded);
        Ok(())
    }

    /// Creates a lookup table of `addresses` owned by the payer, waits until it is usable
    /// (the slot after its last extension) and uses it; returns its address.
    pub async fn create_lookup_table(&mut self, addresses: &[Pubkey]) -> anyhow::Result<Pubkey> {
        let payer = self.payer.pubkey();
        // The program derives the table from a slot it finds in SlotHashes: a finalized one.
        let recent_slot = self
            .client
            .get_slot_with_commitment(CommitmentConfig::finalized())
            .await?;
        let (create, table) = alt::create_lookup_table(payer, payer, recent_slot);
        let extend = alt::extend_lookup_table(table, payer, Some(payer), addresses.to_vec());
        let blockhash = self.client.get_latest_blockhash().await?;
        let tx = Transaction::new_signed_with_payer(
            &[create, extend],
            Some(&payer),
            &[&self.payer],
            blockhash,
        );
        let signature = self
            .client
            .send_and_confirm_transaction(&tx)
            .await
            .map_err(|e| anyhow::anyhow!("creating lookup table {table}: {e}"))?;
        // Addresses a table gained in a slot are usable from the next one.
        let landed = self
            .client
            .get_signature_statuses(&[signature])
            .await?
            .value
            .first()
            .cloned()
            .flatten()
            .ok_or_else(|| anyhow::anyhow!("lookup table {table}: no status for {signature}"))?
            .slot;
        while self.client.get_slot().await? <= landed {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.use_lookup_table(table, addresses).await?;
        Ok(table)
    }
}
