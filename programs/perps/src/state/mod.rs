//! Account types (DESIGN.md §4).

pub mod exchange;
pub mod market;
pub mod order;
pub mod order_book;
pub mod position;
pub mod position_registry;
pub mod price_feed;

pub use exchange::*;
pub use market::*;
pub use order::*;
pub use order_book::*;
pub use position::*;
pub use position_registry::*;
pub use price_feed::*;
