//! Client for the perps program: PDA derivation, one builder per instruction, and account
//! decoding. Shared by the integration tests and the off-chain programs under `app/`.

pub mod accounts;
pub mod adl;
pub mod book;
pub mod events;
pub mod instructions;
pub mod liquidation;
pub mod oracle;
pub mod pda;
pub mod sizing;

pub use perps::instructions::PlaceOrderArgs;
pub use perps::state::{
    CancelBy, CancelReason, Exchange, ExchangeBounds, MarginTierParams, Market, MarketParams,
    MarketStatus, OracleSource, OrderBook, OrderSide, OrderType, Position, PriceFeed,
};
pub use perps::ID as PROGRAM_ID;

/// A market symbol as stored: UTF-8, zero-padded to 16 bytes (longer names are cut).
pub fn symbol(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let bytes = name.as_bytes();
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}
