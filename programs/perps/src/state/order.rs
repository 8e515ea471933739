//! Orders as the program's instructions and events name them: the wire forms of the engine's
//! `OrderSide`, the order types, and why a resting order left the book without filling.

use anchor_lang::prelude::*;
use perps_engine::book::OrderRef;

/// Resting orders one position may have: keeps a single account from filling a book side.
pub const MAX_OPEN_ORDERS_PER_POSITION: u32 = 32;

/// Which way an order trades (the engine's `OrderSide`, as instructions and events carry it).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSide {
    Bid,
    Ask,
}

impl From<OrderSide> for perps_engine::OrderSide {
    fn from(side: OrderSide) -> Self {
        match side {
            OrderSide::Bid => Self::Bid,
            OrderSide::Ask => Self::Ask,
        }
    }
}

impl From<perps_engine::OrderSide> for OrderSide {
    fn from(side: perps_engine::OrderSide) -> Self {
        match side {
            perps_engine::OrderSide::Bid => Self::Bid,
            perps_engine::OrderSide::Ask => Self::Ask,
        }
    }
}

/// How an order treats what does not fill at once.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Matches what crosses, rests the remainder.
    Limit,
    /// Rests only; refused if it would cross.
    PostOnly,
    /// Matches what crosses, drops the remainder.
    ImmediateOrCancel,
}

/// How `cancel_order` names the order.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelBy {
    OrderId(u64),
    ClientOrderId(u64),
}

impl From<CancelBy> for OrderRef {
    fn from(by: CancelBy) -> Self {
        match by {
            CancelBy::OrderId(id) => OrderRef::OrderId(id),
            CancelBy::ClientOrderId(id) => OrderRef::ClientOrderId(id),
        }
    }
}

/// Why resting orders left the book without filling, in `OrderCancelled` events.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
// Variants in wire order: Borsh writes each one's index, and `as u8` reads the same.
#[repr(u8)]
pub enum CancelReason {
    ByOwner,
    /// The taker's own resting orders in the way of its order (self-trade prevention).
    SelfTrade,
    /// A reduce-only order reached when its maker had less left to reduce.
    ReduceOnly,
    ByLiquidation,
    /// Outside the band around the current oracle, or its maker could no longer carry the fill.
    Stale,
    /// A deleveraged position whose margin no longer covers its resting orders.
    ByAdl,
    /// The worst order of a full book side, pushed off by a better-priced one (DESIGN.md §9).
    Evicted,
    /// Cancelled by `settle_position` in a Settled market.
    BySettlement,
}
