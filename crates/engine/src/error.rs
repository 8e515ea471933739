//! The engine's error type. The program maps each variant onto a named program error.

/// Why an engine computation refused to produce a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// A checked arithmetic operation overflowed or divided by zero.
    MathOverflow,
    /// Margin tiers are empty, unsorted, or have rates out of range.
    InvalidMarginTiers,
    /// The oracle price is zero or negative, or converts to zero quote atoms per lot.
    InvalidOraclePrice,
    /// The oracle price is older than the market allows.
    StaleOracle,
    /// The oracle's confidence interval is wider than the market allows.
    OracleConfidenceTooWide,
    /// The computation needs a position with size, and the position is flat.
    FlatPosition,
    /// The position has negative equity at every non-negative price: it has no bankruptcy price.
    NoBankruptcyPrice,
    /// The book side has no room for another resting order.
    BookFull,
    /// The position's equity covers its maintenance margin: it may not be liquidated.
    NotLiquidatable,
}
