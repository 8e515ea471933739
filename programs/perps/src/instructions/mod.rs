//! One module per instruction: its accounts, its checks, its handler.
// Each module's `handler` is called by its path; the globs re-export the Accounts types Anchor needs.
#![allow(ambiguous_glob_reexports)]

pub mod adl;
pub mod cancel_all_orders;
pub mod cancel_order;
pub mod close_position;
pub mod crank_funding;
pub mod create_market;
pub mod create_price_feed;
pub mod deposit;
pub mod fund_insurance;
pub mod initialize_exchange;
pub mod initialize_order_book;
pub mod initialize_position_registry;
pub mod liquidate;
pub mod open_position;
pub mod place_order;
pub mod rank_adl_candidates;
pub mod set_market_status;
pub mod set_price;
pub mod settle_funding;
pub mod settle_position;
pub mod update_market_params;
pub mod withdraw;
pub mod withdraw_insurance;

pub use adl::*;
pub use cancel_all_orders::*;
pub use cancel_order::*;
pub use close_position::*;
pub use crank_funding::*;
pub use create_market::*;
pub use create_price_feed::*;
pub use deposit::*;
pub use fund_insurance::*;
pub use initialize_exchange::*;
pub use initialize_order_book::*;
pub use initialize_position_registry::*;
pub use liquidate::*;
pub use open_position::*;
pub use place_order::*;
pub use rank_adl_candidates::*;
pub use set_market_status::*;
pub use set_price::*;
pub use settle_funding::*;
pub use settle_position::*;
pub use update_market_params::*;
pub use withdraw::*;
pub use withdraw_insurance::*;
