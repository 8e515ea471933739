//! The perps risk engine: every formula of the exchange, in integer fixed point.
//!
//! Pure Rust with no Solana or Anchor dependency, `no_std`, no heap and no floating point, so the
//! on-chain program and the off-chain keeper call the very same functions (DESIGN.md §3) and the
//! crate can be compiled alone for the BPF target.
//!
//! Rounding always goes against the position (DESIGN.md §5): margin requirements round up, a long's
//! bankruptcy price rounds up and a short's down, oracle prices convert with floor and their
//! confidence with ceiling.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod adl;
pub mod book;
pub mod error;
pub mod fees;
pub mod funding;
pub mod liquidation;
pub mod margin;
pub mod math;
pub mod oracle;
pub mod position;
pub mod units;
pub mod volatility;

pub use book::{Book, OrderSide, RestingOrder, BOOK_SIDE_CAPACITY};
pub use error::EngineError;
pub use margin::{MarginTier, MarginTiers, MAX_MARGIN_TIERS};
pub use oracle::{OracleLimits, OracleReading, OracleUse};
pub use position::{open_interest_change, MarginHealth, PositionSide, PositionState};
pub use units::{BaseLots, Price, QuoteAtoms, RatePpm, SignedLots, SignedPrice, SignedQuote, PPM};

/// Result of an engine computation.
pub type EngineResult<T> = core::result::Result<T, EngineError>;
