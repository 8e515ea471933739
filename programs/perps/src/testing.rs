//! Fixtures for tests of the program and of its callers: the default market parameters and
//! accounts built in memory, so an action can be tested without the bank.

use anchor_lang::prelude::Pubkey;
use bytemuck::Zeroable;

use anchor_lang::Result;

use crate::state::{
    MarginTierParams, Market, MarketParams, MarketStatus, OracleSource, OrderBook, Position,
    PositionAccounts,
};

/// One USDC in quote atoms (6 decimals).
pub const USDC: u64 = 1_000_000;

/// A BTC-like market: lots of 0.001, a 0.01-USDC tick per lot, three margin tiers (0.5% / 1%
/// maintenance up to 10,000 USDC, 1% / 2% to 100,000, then 2.5% / 5%), 5 bps taker fee and
/// a 1 bp maker rebate, 5% band, no volatility scaling and no breaker.
pub fn default_params() -> MarketParams {
    let mut margin_tiers = [MarginTierParams::default(); perps_engine::MAX_MARGIN_TIERS];
    margin_tiers[0] = MarginTierParams {
        max_notional: 10_000 * USDC,
        maintenance_rate_ppm: 5_000,
        initial_rate_ppm: 10_000,
    };
    margin_tiers[1] = MarginTierParams {
        max_notional: 100_000 * USDC,
        maintenance_rate_ppm: 10_000,
        initial_rate_ppm: 20_000,
    };
    margin_tiers[2] = MarginTierParams {
        max_notional: u64::MAX,
        maintenance_rate_ppm: 25_000,
        initial_rate_ppm: 50_000,
    };
    MarketParams {
        tick_size: 10_000,
        min_order_lots: 1,
        max_open_interest_lots: 1_000_000,
        min_position_notional: 10 * USDC,
        insurance_floor: 0,
        margin_tiers,
        pyth_feed_id: [0; 32],
        liquidation_fee_ppm: 2_000,
        insurance_fee_ppm: 1_000,
        liquidation_buffer_ppm: 100_000,
        max_oracle_staleness_secs: 60,
        max_oracle_confidence_ppm: 10_000,
        price_band_ppm: 50_000,
        funding_interval_secs: 3_600,
        max_funding_rate_ppm: 1_000,
        oracle_ema_period_secs: 300,
        volatility_sensitivity_ppm: 0,
        max_volatility_factor_ppm: 1_000_000,
        breaker_move_ppm: 0,
        breaker_window_secs: 60,
        breaker_cooldown_secs: 300,
        taker_fee_bps: 5,
        maker_fee_bps: -1,
        fee_insurance_share_bps: 5_000,
        base_lot_exponent: -3,
        oracle_source: OracleSource::PriceFeed as u8,
        margin_tier_count: 3,
        pyth_min_signatures: 0,
        _padding: [0; 6],
    }
}

/// An active market with the default parameters, as `create_market` leaves it.
pub fn market() -> Box<Market> {
    let mut market: Box<Market> = Box::new(Zeroable::zeroed());
    market.params = default_params();
    market.status = MarketStatus::Active as u8;
    market.quote_decimals = 6;
    market
}

/// A position of `owner` holding `collateral` atoms and `base_lots` bought (or sold, negative)
/// at `entry` atoms per lot.
pub fn position(market: Pubkey, collateral: i64, base_lots: i64, entry: i64) -> Position {
    let mut position = Position::zeroed();
    position.market = market;
    position.owner = Pubkey::new_unique();
    position.collateral = collateral;
    position.base_lots = base_lots;
    position.cost_basis = base_lots * entry;
    position
}

/// An empty order book (zero-copy, boxed: 73 KB).
pub fn order_book(market: Pubkey) -> Box<OrderBook> {
    let mut book: Box<OrderBook> = Box::new(Zeroable::zeroed());
    book.market = market;
    book
}

/// Positions by address, standing in for an instruction's remaining accounts.
pub struct Positions(pub Vec<(Pubkey, Position)>);

impl PositionAccounts for Positions {
    fn with_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&mut Position) -> Result<R>,
    ) -> Result<Option<R>> {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, position)) => f(position).map(Some),
            None => Ok(None),
        }
    }

    fn read_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&Position) -> Result<R>,
    ) -> Result<Option<R>> {
        self.with_position(key, |position| f(position))
    }
}
