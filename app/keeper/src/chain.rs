//! What the keeper needs from a chain.

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps::state::Position;
use solana_instruction::Instruction;

/// An account as fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub owner: Pubkey,
    pub lamports: u64,
    pub data: Vec<u8>,
}

/// Why a transaction did not land.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The program refused it with this custom error code.
    Program(u32),
    /// Anything else: the transport, the runtime, another program.
    Failed(String),
}

impl SendError {
    /// Whether the program refused with `error`.
    pub fn is(&self, error: PerpsError) -> bool {
        *self == SendError::Program(anchor_lang::error::ERROR_CODE_OFFSET + error as u32)
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Program(code) => write!(f, "program error {code}"),
            SendError::Failed(reason) => write!(f, "{reason}"),
        }
    }
}

/// Chain access: a cluster over RPC, or the in-process bank.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// The key that signs and pays, and whose Position liquidates.
    fn payer(&self) -> Pubkey;
    /// The perps deployment this chain's accounts belong to: every PDA and instruction the
    /// keeper builds is under it.
    fn program_id(&self) -> Pubkey;
    async fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<Fetched>>;
    /// Every Position of `market`.
    async fn positions(&mut self, market: &Pubkey) -> anyhow::Result<Vec<(Pubkey, Position)>>;
    /// The cluster's unix time.
    async fn unix_time(&mut self) -> anyhow::Result<i64>;
    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError>;
    /// Sends each of `transactions` as its own, up to `in_flight` at once; their results in
    /// order. One after another unless the backend can do better.
    async fn send_all(
        &mut self,
        transactions: Vec<Vec<Instruction>>,
        _in_flight: usize,
    ) -> Vec<Result<(), SendError>> {
        let mut results = Vec::with_capacity(transactions.len());
        for instructions in transactions {
            results.push(self.send(&instructions).await);
        }
        results
    }
    /// Makers one taker order of this chain carries (a legacy transaction's 21 unless the
    /// backend sends v0 with the market's lookup table).
    fn makers_per_transaction(&self) -> usize {
        crate::send::LEGACY_MAKERS_PER_TRANSACTION
    }
    /// Ranking entries one `adl` transaction of this chain carries.
    fn adl_candidates_per_transaction(&self) -> usize {
        perps_client::adl::ADL_CANDIDATES_PER_TRANSACTION
    }
}
