//! perps-keeper: the bot that keeps a perps market solvent. Each pass, per market, it reads the
//! oracle and every position, judges each with the engine (no formula of its own), liquidates the
//! positions below maintenance margin, most under-margined first (a bankruptcy the insurance vault
//! cannot cover goes into the market's ADL book), drives ADL while the book holds lots (the
//! sweep's ranking chunks over every registered position, then fills down the on-chain ranking,
//! sweep after sweep), and cranks funding when it is due. In a Settled market it settles every
//! position that still holds lots or orders at the settlement price (`settle_position`).
//!
//! Chain access is one trait with two backends: a cluster over RPC and the in-process bank
//! (`bank`, behind the cargo feature of the same name).

#[cfg(feature = "bank")]
pub mod bank;
pub mod chain;
pub mod config;
pub mod keeper;
pub mod metrics;
pub mod rpc;
pub mod send;
pub mod subscription;

pub use chain::{Chain, SendError};
pub use keeper::{assess, Keeper, PassSummary};
