//! One module per instruction: its accounts, its checks, its handler.
// Each module's `handler` is called by its path; the globs re-export the Accounts types Anchor needs.
#![allow(ambiguous_glob_reexports)]

pub mod close_position;
pub mod create_market;
pub mod create_price_feed;
pub mod deposit;
pub mod fund_insurance;
pub mod initialize_exchange;
pub mod open_position;
pub mod set_market_status;
pub mod set_price;
pub mod update_market_params;
pub mod withdraw;

pub use close_position::*;
pub use create_market::*;
pub use create_price_feed::*;
pub use deposit::*;
pub use fund_insurance::*;
pub use initialize_exchange::*;
pub use open_position::*;
pub use set_market_status::*;
pub use set_price::*;
pub use update_market_params::*;
pub use withdraw::*;
