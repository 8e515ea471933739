//! Events for integrators and indexers (DESIGN.md §2).

use anchor_lang::prelude::*;

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
