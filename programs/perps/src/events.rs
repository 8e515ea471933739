//! Events for integrators and indexers (DESIGN.md §2).

use anchor_lang::prelude::*;

use crate::state::{CancelReason, OrderSide};

#[event]
pub struct ExchangeInitialized {
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
    pub treasury: Pubkey,
}

/// The admin proposed `proposed` as the next admin (`Pubkey::default()`: proposal withdrawn).
#[event]
pub struct AdminProposed {
    pub admin: Pubkey,
    pub proposed: Pubkey,
}

/// The proposed admin accepted.
#[event]
pub struct AdminChanged {
    pub old_admin: Pubkey,
    pub new_admin: Pubkey,
}

#[event]
pub struct TreasuryChanged {
    pub old_treasury: Pubkey,
    pub new_treasury: Pubkey,
}

#[event]
pub struct OracleAuthorityChanged {
    pub feed: Pubkey,
    pub old_authority: Pubkey,
    pub new_authority: Pubkey,
}

/// The exchange was paused (or resumed).
#[event]
pub struct ExchangePauseSet {
    pub paused: bool,
}

#[event]
pub struct MarketCreated {
    pub market: Pubkey,
    pub index: u16,
    pub symbol: [u8; 16],
    pub oracle: Pubkey,
}

#[event]
pub struct MarketParamsUpdated {
    pub market: Pubkey,
}

#[event]
pub struct MarketStatusChanged {
    pub market: Pubkey,
    pub old_status: u8,
    pub new_status: u8,
    /// Quote atoms per lot; non-zero only when the market settles.
    pub settlement_price: u64,
}

#[event]
pub struct PriceFeedUpdated {
    pub feed: Pubkey,
    pub price: i64,
    pub conf: u64,
    pub publish_time: i64,
}

#[event]
pub struct PositionOpened {
    pub market: Pubkey,
    pub owner: Pubkey,
    pub position: Pubkey,
}

#[event]
pub struct CollateralDeposited {
    pub position: Pubkey,
    pub amount: u64,
    pub collateral: i64,
}

#[event]
pub struct CollateralWithdrawn {
    pub position: Pubkey,
    pub amount: u64,
    pub collateral: i64,
}

#[event]
pub struct PositionClosed {
    pub market: Pubkey,
    pub owner: Pubkey,
    pub position: Pubkey,
}

/// A position of a Settled market closed at its settlement price (`settle_position`).
#[event]
pub struct PositionSettled {
    pub market: Pubkey,
    pub position: Pubkey,
    /// Signed lots closed (positive: a long sold), at `price` quote atoms a lot, without fee.
    pub lots: i64,
    pub price: u64,
    /// Realized into collateral by the close.
    pub realized_pnl: i64,
    /// Funding settled first (positive paid, negative received).
    pub funding: i64,
    /// Lots of the resting orders cancelled.
    pub cancelled_lots: u64,
    /// The position's collateral after: what its owner may withdraw.
    pub collateral: i64,
    /// From the collateral vault to the insurance vault: the market's whole atoms of funding
    /// rounding, and a flat ADL book's surplus.
    pub to_insurance: u64,
    /// From the insurance vault: into the position, when the settlement price left it below zero,
    /// and into a flat ADL book's deficit.
    pub from_insurance: u64,
}

#[event]
pub struct InsuranceFunded {
    pub market: Pubkey,
    pub funder: Pubkey,
    pub amount: u64,
    pub vault_balance: u64,
}

#[event]
pub struct OrderPlaced {
    pub market: Pubkey,
    pub position: Pubkey,
    /// The resting order's id; 0 when nothing rested.
    pub order_id: u64,
    pub client_order_id: u64,
    pub side: OrderSide,
    pub price: u64,
    /// Lots after any reduce-only cut.
    pub lots: u64,
    pub filled: u64,
    pub rested: u64,
}

#[event]
pub struct Fill {
    pub market: Pubkey,
    pub maker: Pubkey,
    pub taker: Pubkey,
    pub maker_order_id: u64,
    pub taker_side: OrderSide,
    pub price: u64,
    pub lots: u64,
    /// Negative is a rebate.
    pub maker_fee: i64,
    pub taker_fee: i64,
}

#[event]
pub struct OrderCancelled {
    pub market: Pubkey,
    pub position: Pubkey,
    /// 0 for a batch (cancel-all, self-trade prevention).
    pub order_id: u64,
    pub lots: u64,
    pub reason: CancelReason,
}

#[event]
pub struct FundingUpdated {
    pub market: Pubkey,
    /// The book's time-weighted impact premium over the oracle since the last crank (signed
    /// ppm), before the rate cap.
    pub premium_ppm: i64,
    pub oracle: u64,
    pub rate_ppm: i64,
    pub funding_index: i64,
    pub swept_to_insurance: u64,
}

#[event]
pub struct CircuitBreakerTripped {
    pub market: Pubkey,
    pub reference_price: u64,
    pub price: u64,
    /// When the market returns to Active by itself.
    pub until: i64,
}

#[event]
pub struct CircuitBreakerCleared {
    pub market: Pubkey,
}

#[event]
pub struct Liquidation {
    pub market: Pubkey,
    pub position: Pubkey,
    pub liquidator: Pubkey,
    pub lots: u64,
    /// Transfer price per lot, and the oracle price it was taken from.
    pub price: u64,
    pub oracle_price: u64,
    /// The liquidator's price improvement, `lots · |oracle − price|`.
    pub liquidator_fee: u64,
    pub insurance_fee: u64,
    pub full: bool,
}

#[event]
pub struct Bankruptcy {
    pub market: Pubkey,
    pub position: Pubkey,
    pub deficit: u64,
    pub paid_by_insurance: u64,
    /// What the insurance vault could not pay, left for ADL.
    pub left_for_adl: u64,
    /// Set when the position was taken into the ADL book: its bankruptcy price there (negative
    /// for a short that lost more than its collateral and all it sold for), and its lots.
    pub bankruptcy_price: i64,
    pub lots: u64,
}

#[event]
pub struct InsuranceWithdrawn {
    pub market: Pubkey,
    pub amount: u64,
    pub vault_balance: u64,
}

/// The market entered ADL: a bankruptcy the vault could not cover was taken into its ADL book.
#[event]
pub struct AdlStarted {
    pub market: Pubkey,
    /// The book's lots and the price at which its equity is zero.
    pub lots: u64,
    pub bankruptcy_price: i64,
}

/// A bankrupt position the vault could not cover was taken over into the market's ADL book.
#[event]
pub struct AdlBookTakeover {
    pub market: Pubkey,
    pub position: Pubkey,
    /// Signed lots taken over (positive long), and the book's lots and bankruptcy price after.
    pub lots: i64,
    pub book_lots: i64,
    pub book_bankruptcy_price: i64,
}

/// A sweep of the registry started: every position will be ranked at `snapshot_price`.
#[event]
pub struct AdlRankingStarted {
    pub market: Pubkey,
    pub sweep: u32,
    pub snapshot_price: u64,
    /// The side ranked (0 long, 1 short): opposite the ADL book.
    pub candidate_side: u8,
}

/// One chunk of registry slots was ranked.
#[event]
pub struct AdlChunkRanked {
    pub market: Pubkey,
    pub sweep: u32,
    pub first_slot: u32,
    pub slot_count: u32,
    /// Positions in the chunk, and how many of them were eligible.
    pub positions: u32,
    pub eligible: u32,
}

/// Every slot of the sweep is ranked: ADL fills may start.
#[event]
pub struct AdlRankingCompleted {
    pub market: Pubkey,
    pub sweep: u32,
    /// The complete ranking's size: every eligible position and their lots.
    pub eligible_count: u32,
    pub eligible_lots: u64,
    /// How many of the best are kept on-chain, in order.
    pub ranked: u32,
}

#[event]
pub struct AdlFilled {
    pub market: Pubkey,
    pub candidate: Pubkey,
    pub lots: u64,
    /// Both sides close here, without fees: the book's bankruptcy price while it is insolvent
    /// (negative when it is short beyond all it sold for: the candidate pays on top of its lots),
    /// else the oracle.
    pub price: i64,
    pub oracle_price: u64,
    /// What the candidate gave up against closing at the oracle, `lots · |price − oracle|`.
    pub haircut: u64,
    /// The candidate's score at the snapshot price, as the exact fraction `score_num / score_den`.
    pub score_num: u128,
    pub score_den: u128,
    /// 1-based rank in the sweep's complete ranking of every eligible position.
    pub rank: u32,
    pub sweep: u32,
}

/// A ranked position was passed over: closed, flipped, liquidatable, or without equity to give.
#[event]
pub struct AdlSkipped {
    pub market: Pubkey,
    pub candidate: Pubkey,
    pub rank: u32,
    pub sweep: u32,
}

/// The ADL book is closed: the market leaves ADL.
#[event]
pub struct AdlCompleted {
    pub market: Pubkey,
    /// What the book had left (rounding dust, or its surplus when it closed solvent at the
    /// oracle), paid to the insurance vault.
    pub to_insurance: u64,
}

/// Emits each of the events given as `Option`s that is present, in order.
#[macro_export]
macro_rules! emit_present {
    ($($event:expr),+ $(,)?) => {
        $(
            if let Some(event) = $event {
                anchor_lang::prelude::emit!(event);
            }
        )+
    };
}
