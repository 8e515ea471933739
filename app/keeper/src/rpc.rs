//! The cluster backend: nonblocking RPC, getProgramAccounts filtered by market, transactions with
//! a compute-unit price, sent and confirmed with retries.

use std::time::Duration;

use anchor_lang::{prelude::Pubkey, solana_program::sysvar::SysvarId, Discriminator};
use perps::state::Position;
use perps_client::accounts as decode;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_instruction::{error::InstructionError, Instruction};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
    filter::{Memcmp, RpcFilterType},
};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::chain::{Chain, Fetched, SendError};

/// Attempts per transaction when the failure is not the program's (expired blockhash, timeout).
const SEND_ATTEMPTS: usize = 3;
/// Offset of the unix timestamp in the Clock sysvar (slot, epoch start, epoch, leader epoch).
const CLOCK_UNIX_TIMESTAMP_OFFSET: usize = 32;

pub struct RpcChain {
    client: RpcClient,
    payer: Keypair,
    program_id: Pubkey,
    compute_unit_price: u64,
}

impl RpcChain {
    pub fn new(url: String, payer: Keypair, program_id: Pubkey, compute_unit_price: u64) -> Self {
        Self {
            client: RpcClient::new_with_commitment(url, CommitmentConfig::confirmed()),
            payer,
            program_id,
            compute_unit_price,
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

    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>> {
        let response = self
            .client
            .get_account_with_commitment(key, self.client.commitment())
            .await?;
        Ok(response.value.map(|a| Fetched {
            owner: a.owner,
            data: a.data,
        }))
    }

    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>> {
        let config = RpcProgramAccountsConfig {
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
        };
        #[allow(deprecated)]
        let accounts = self
            .client
            .get_program_accounts_with_config(&self.program_id, config)
            .await?;
        Ok(accounts
            .into_iter()
            .filter_map(|(key, account)| decode::position(&account.data).ok().map(|p| (key, p)))
            .collect())
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
        let mut all = vec![
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
                self.compute_unit_price,
            ),
        ];
        all.extend_from_slice(instructions);
        let mut last = SendError::Failed("not sent".into());
        for attempt in 0..SEND_ATTEMPTS {
            let blockhash = match self.client.get_latest_blockhash().await {
                Ok(hash) => hash,
                Err(e) => {
                    last = SendError::Failed(e.to_string());
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    continue;
                }
            };
            let tx = Transaction::new_signed_with_payer(
                &all,
                Some(&self.payer.pubkey()),
                &[&self.payer],
                blockhash,
            );
            match self.client.send_and_confirm_transaction(&tx).await {
                Ok(_) => return Ok(()),
                Err(e) => match e.get_transaction_error() {
                    // The perps instruction follows the compute-budget one: its own errors only.
                    Some(TransactionError::InstructionError(
                        index,
                        InstructionError::Custom(code),
                    )) if index as usize == all.len() - 1
                        && code >= anchor_lang::error::ERROR_CODE_OFFSET =>
                    {
                        return Err(SendError::Program(code));
                    }
                    Some(TransactionError::BlockhashNotFound) => {
                        last = SendError::Failed("blockhash not found".into());
                    }
                    Some(other) => return Err(SendError::Failed(other.to_string())),
                    None => {
                        last = SendError::Failed(e.to_string());
                        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    }
                },
            }
        }
        Err(last)
    }
}
