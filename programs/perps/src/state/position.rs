use anchor_lang::prelude::*;
use perps_engine::{BaseLots, PositionState, SignedLots, SignedQuote};

pub const POSITION_SEED: &[u8] = b"position";

/// One owner's isolated-margin position in one market (DESIGN.md §4).
#[account(zero_copy)]
#[derive(Debug)]
pub struct Position {
    pub market: Pubkey,
    pub owner: Pubkey,
    /// Collateral in quote atoms, with funding settled into it.
    pub collateral: i64,
    /// Signed size in base lots: positive long, negative short.
    pub base_lots: i64,
    /// Signed quote atoms paid for the open size (negative for a short).
    pub cost_basis: i64,
    /// Lots on this position's resting bids and asks.
    pub open_bid_lots: u64,
    pub open_ask_lots: u64,
    pub open_order_count: u32,
    pub bump: u8,
    pub _padding: [u8; 3],
}

impl Position {
    /// The figures the engine judges the position by.
    pub fn state(&self) -> PositionState {
        PositionState {
            collateral: SignedQuote(self.collateral as i128),
            size: SignedLots(self.base_lots),
            cost_basis: SignedQuote(self.cost_basis as i128),
            open_bids: BaseLots(self.open_bid_lots),
            open_asks: BaseLots(self.open_ask_lots),
        }
    }

    pub fn has_open_orders(&self) -> bool {
        self.open_order_count > 0 || self.open_bid_lots > 0 || self.open_ask_lots > 0
    }
}
