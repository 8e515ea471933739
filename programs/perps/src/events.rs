//! Events for integrators and indexers (DESIGN.md §2).

use anchor_lang::prelude::*;

use crate::state::{CancelReason, OrderSide};

#[event]
pub struct ExchangeInitialized {
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
    pub treasury: Pubkey,
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
    /// Set when the position waits for ADL; negative for a short that lost more than its
    /// collateral and all it sold for.
    pub bankruptcy_price: i64,
    pub lots: u64,
}

#[event]
pub struct InsuranceWithdrawn {
    pub market: Pubkey,
    pub amount: u64,
    pub vault_balance: u64,
}

#[event]
pub struct AdlStarted {
    pub market: Pubkey,
    pub bankrupt: Pubkey,
    pub lots: u64,
    pub bankruptcy_price: i64,
}

#[event]
pub struct AdlFilled {
    pub market: Pubkey,
    pub bankrupt: Pubkey,
    pub candidate: Pubkey,
    pub lots: u64,
    /// The bankruptcy price: both sides close here, without fees (negative when the bankrupt
    /// short lost more than its collateral and all it sold for: the candidate pays on top of
    /// its lots).
    pub price: i64,
    /// The candidate's score as the exact fraction `score_num / score_den`.
    pub score_num: u128,
    pub score_den: u128,
    /// 1-based rank among the candidates supplied to this instruction.
    pub rank: u32,
}

#[event]
pub struct AdlCompleted {
    pub market: Pubkey,
    pub bankrupt: Pubkey,
    pub dust_to_insurance: u64,
    /// Set when the position left the queue solvent: the subsidy it gave to the vault.
    pub insurance_returned: u64,
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
