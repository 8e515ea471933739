use anchor_lang::prelude::*;
use perps_engine::EngineError;

/// Every way an instruction refuses, each with its own name (DESIGN.md §12.8).
#[error_code]
pub enum PerpsError {
    #[msg("The signer is not the authority this account names")]
    Unauthorized,
    #[msg("Exchange bounds are out of their absolute limits")]
    InvalidExchangeBounds,
    #[msg("The treasury must be a token account of the collateral mint")]
    InvalidTreasury,
    #[msg("The token account's mint is not the exchange's collateral mint")]
    InvalidMint,
    #[msg("Tick size must be positive and the lot exponent within ±12")]
    InvalidLotOrTickSize,
    #[msg("Market limits are inconsistent")]
    InvalidMarketLimits,
    #[msg("Fee rates are out of bounds, or the maker rebate exceeds the taker fee")]
    InvalidFeeRates,
    #[msg("Margin tiers must ascend in notional with 0 < maintenance < initial <= 100%, non-decreasing, within the exchange's bounds")]
    InvalidMarginTiers,
    #[msg("Liquidation fees must fit inside the smallest maintenance margin")]
    InvalidLiquidationFees,
    #[msg("The price band must be between 0 and 50%")]
    InvalidPriceBand,
    #[msg("Funding interval must be 60 s to 1 day and the rate cap at most 10%")]
    InvalidFundingParams,
    #[msg("EMA period, volatility sensitivity or factor cap out of range")]
    InvalidVolatilityParams,
    #[msg("Circuit breaker move, window or cool-down out of range")]
    InvalidCircuitBreaker,
    #[msg("Oracle configuration is invalid")]
    InvalidOracleConfig,
    #[msg("Tick size, lot size and oracle identity cannot change after creation")]
    ImmutableParameter,
    #[msg("An update may not raise a maintenance margin rate")]
    MaintenanceRateIncrease,
    #[msg("Unknown market status")]
    InvalidMarketStatus,
    #[msg("A settled market is final")]
    MarketSettled,
    #[msg("The market is paused")]
    MarketPaused,
    #[msg("The account belongs to another market")]
    WrongMarket,
    #[msg("The vault is not this market's vault")]
    WrongVault,
    #[msg("The oracle account is not this market's oracle")]
    WrongOracle,
    #[msg("The oracle account has the wrong owner or layout")]
    InvalidOracleAccount,
    #[msg("The Pyth update is for another feed")]
    OracleFeedMismatch,
    #[msg("The Pyth update is not verified enough")]
    OracleVerificationTooLow,
    #[msg("The oracle price is zero, negative or too small for a lot")]
    InvalidOraclePrice,
    #[msg("The oracle price is stale")]
    StaleOracle,
    #[msg("The oracle confidence interval is too wide")]
    OracleConfidenceTooWide,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("The token account holds less than the amount")]
    InsufficientFunds,
    #[msg("The amount exceeds the position's collateral")]
    InsufficientCollateral,
    #[msg("The withdrawal would leave equity below initial margin")]
    WithdrawalBelowInitialMargin,
    #[msg("The position still has size")]
    PositionNotFlat,
    #[msg("The position still has resting orders")]
    PositionHasOpenOrders,
    #[msg("The position still has collateral")]
    PositionHasCollateral,
    #[msg("The position needs size for this")]
    FlatPosition,
    #[msg("The position has negative equity at every price")]
    NoBankruptcyPrice,
    #[msg("The market's order book is already set")]
    OrderBookAlreadySet,
    #[msg("The order book is not this market's")]
    WrongOrderBook,
    #[msg("The order is smaller than the market's minimum")]
    OrderTooSmall,
    #[msg("The price must be a positive multiple of the tick size")]
    InvalidPrice,
    #[msg("The price is outside the market's band around the oracle")]
    PriceOutsideBand,
    #[msg("A post-only order would cross the book")]
    PostOnlyWouldCross,
    #[msg("A reduce-only order would not reduce the position")]
    ReduceOnlyWouldIncrease,
    #[msg("The order would leave the position below initial margin")]
    InsufficientMargin,
    #[msg("The book side is full")]
    BookFull,
    #[msg("A maker's position account is missing and the remainder would cross the book")]
    MissingMakerAccount,
    #[msg("The position has the most resting orders allowed")]
    TooManyOrders,
    #[msg("No such order of this position")]
    OrderNotFound,
    #[msg("Funding is not due yet")]
    FundingNotDue,
    #[msg("Open interest is out of balance")]
    OpenInterestImbalance,
    #[msg("The position's equity covers its maintenance margin")]
    NotLiquidatable,
    #[msg("A position cannot liquidate itself")]
    SelfLiquidation,
    #[msg("The liquidator would be below initial margin")]
    LiquidatorBelowInitialMargin,
    #[msg("The market is in ADL: only orders that reduce risk")]
    AdlPending,
    #[msg("The market is not in ADL")]
    NoAdlPending,
    #[msg("The ADL sweep has not ranked every registered position yet")]
    RankingIncomplete,
    #[msg("The ADL sweep has ranked every registered position already")]
    RankingComplete,
    #[msg("A ranking chunk must be a non-empty range of the sweep's slots")]
    InvalidRankingChunk,
    #[msg("Every slot of this chunk was already ranked in this sweep")]
    SlotAlreadyRanked,
    #[msg("The accounts must be exactly the registry's positions in the chunk, in slot order")]
    RankingChunkMismatch,
    #[msg("ADL accounts must be the ranking's next positions, in ranking order")]
    AdlOutOfRankingOrder,
    #[msg("The position registry is full")]
    RegistryFull,
    #[msg("The position is not in this registry slot")]
    WrongRegistrySlot,
    #[msg("The account is not a valid position registry")]
    InvalidRegistry,
    #[msg("The market already has a position registry")]
    RegistryAlreadySet,
    #[msg("The account is not this market's position registry")]
    WrongRegistry,
    #[msg("The exchange is paused: only cancels, withdrawals of idle positions and closing empty accounts")]
    ExchangePaused,
    #[msg("Only the program's upgrade authority may initialize the exchange")]
    NotUpgradeAuthority,
    #[msg("The signer is not the proposed admin")]
    NotPendingAdmin,
    #[msg("The order would raise open interest above the market's cap")]
    OpenInterestCapExceeded,
    #[msg("The insurance vault cannot go below its floor")]
    InsuranceBelowFloor,
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The book side is full and the position of the order to evict was not supplied")]
    MissingEvictedAccount,
    #[msg("The market is not settled: positions close at a settlement price only once it is")]
    MarketNotSettled,
    #[msg("Insurance cannot leave a settled market until every position is settled")]
    SettlementIncomplete,
}

/// Turns an engine result into the program's, keeping the engine error's own name.
pub trait EngineResultExt<T> {
    fn map_engine_err(self) -> Result<T>;
}

impl<T> EngineResultExt<T> for core::result::Result<T, EngineError> {
    fn map_engine_err(self) -> Result<T> {
        self.map_err(|e| PerpsError::from(e).into())
    }
}

/// An error raised inside an engine callback: the engine's own or the program's.
pub struct CallbackError(pub anchor_lang::error::Error);

impl From<EngineError> for CallbackError {
    fn from(e: EngineError) -> Self {
        CallbackError(PerpsError::from(e).into())
    }
}

impl From<anchor_lang::error::Error> for CallbackError {
    fn from(e: anchor_lang::error::Error) -> Self {
        CallbackError(e)
    }
}

impl From<EngineError> for PerpsError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::MathOverflow => PerpsError::MathOverflow,
            EngineError::InvalidMarginTiers => PerpsError::InvalidMarginTiers,
            EngineError::InvalidOraclePrice => PerpsError::InvalidOraclePrice,
            EngineError::StaleOracle => PerpsError::StaleOracle,
            EngineError::OracleConfidenceTooWide => PerpsError::OracleConfidenceTooWide,
            EngineError::FlatPosition => PerpsError::FlatPosition,
            EngineError::NoBankruptcyPrice => PerpsError::NoBankruptcyPrice,
            EngineError::BookFull => PerpsError::BookFull,
            EngineError::NotLiquidatable => PerpsError::NotLiquidatable,
        }
    }
}
