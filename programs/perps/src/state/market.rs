use anchor_lang::prelude::*;
use bytemuck::{Pod, Zeroable};
use perps_engine::{
    adl::adl_fill_price,
    funding::{self, PremiumClock},
    liquidation::LiquidationParams,
    open_interest_change,
    volatility::BreakerWindow,
    Book, MarginTier, MarginTiers, OracleLimits, PositionSide, Price, RatePpm, SignedLots,
    SignedPrice, MAX_MARGIN_TIERS, PPM,
};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{AdlRankingStarted, EventHeader},
    state::{side_code, ExchangeBounds, Position},
};

pub const MARKET_SEED: &[u8] = b"market";
pub const COLLATERAL_VAULT_SEED: &[u8] = b"collateral";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance";

/// Lot sizes from 10^-12 to 10^12 base units.
pub const MAX_BASE_LOT_EXPONENT: i8 = 12;
pub const BPS: u16 = 10_000;
/// Orders may be priced at most 50% away from the oracle.
pub const MAX_PRICE_BAND_PPM: u32 = 500_000;
pub const MIN_FUNDING_INTERVAL_SECS: u32 = 60;
pub const MAX_FUNDING_INTERVAL_SECS: u32 = 86_400;
/// Funding may move at most 10% of the price per interval.
pub const MAX_FUNDING_RATE_PPM: u32 = 100_000;
/// EMA periods, breaker windows and cool-downs are at most a week.
pub const MAX_PERIOD_SECS: u32 = 7 * 86_400;
pub const MAX_VOLATILITY_SENSITIVITY_PPM: u32 = 100 * PPM;
pub const MAX_VOLATILITY_FACTOR_PPM: u32 = 10 * PPM;

/// Where a market reads its price.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
// Variants in wire order: Borsh writes each one's index, and `as u8` reads the same.
#[repr(u8)]
pub enum OracleSource {
    /// The program's own `PriceFeed` account.
    PriceFeed,
    /// A Pyth receiver `PriceUpdateV2` account (a sponsored feed at a fixed address).
    PythPull,
}

/// A market's lifecycle state (DESIGN.md §11).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
// Variants in wire order: Borsh writes each one's index, and `as u8` reads the same.
#[repr(u8)]
pub enum MarketStatus {
    Active,
    /// Only orders that reduce risk; liquidation and ADL keep running.
    ReduceOnly,
    /// Only cancels and deposits.
    Paused,
    /// Final: a settlement price is fixed and every position closes at it.
    Settled,
}

impl TryFrom<u8> for MarketStatus {
    type Error = PerpsError;
    fn try_from(value: u8) -> std::result::Result<Self, PerpsError> {
        match value {
            0 => Ok(Self::Active),
            1 => Ok(Self::ReduceOnly),
            2 => Ok(Self::Paused),
            3 => Ok(Self::Settled),
            _ => Err(PerpsError::InvalidMarketStatus),
        }
    }
}

/// One margin bracket as stored: notional up to `max_notional` uses these rates (ppm).
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable,
)]
#[repr(C)]
pub struct MarginTierParams {
    /// Notional up to which this tier's rates apply, in quote atoms.
    pub max_notional: u64,
    /// Maintenance margin rate, ppm of notional.
    pub maintenance_rate_ppm: u32,
    /// Initial margin rate, ppm of notional.
    pub initial_rate_ppm: u32,
}

/// A market's tunable parameters: passed to `create_market` and `update_market_params`, and
/// stored as they are in the zero-copy `Market`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct MarketParams {
    /// Price increment, in quote atoms per base lot. Immutable.
    pub tick_size: u64,
    /// Smallest order, in lots.
    pub min_order_lots: u64,
    /// Cap on open interest per side, in lots.
    pub max_open_interest_lots: u64,
    /// A liquidation that would leave less notional than this closes the position in full.
    pub min_position_notional: u64,
    /// The insurance vault never pays out below this balance.
    pub insurance_floor: u64,
    /// Up to six margin tiers, `margin_tier_count` of them used, by rising notional.
    pub margin_tiers: [MarginTierParams; MAX_MARGIN_TIERS],
    /// Pyth feed id, when the source is Pyth. Immutable.
    pub pyth_feed_id: [u8; 32],
    /// Price improvement the liquidator gets, in ppm of the oracle price.
    pub liquidation_fee_ppm: u32,
    /// Share of a liquidated notional paid to the insurance vault, in ppm.
    pub insurance_fee_ppm: u32,
    /// Partial liquidation restores equity to maintenance · (1 + buffer), in ppm.
    pub liquidation_buffer_ppm: u32,
    /// The oldest oracle report accepted, in seconds.
    pub max_oracle_staleness_secs: u32,
    /// The widest oracle confidence accepted, ppm of the price.
    pub max_oracle_confidence_ppm: u32,
    /// Orders must be priced within this fraction of the oracle, in ppm.
    pub price_band_ppm: u32,
    /// Funding cranks at most once per this many seconds.
    pub funding_interval_secs: u32,
    /// Cap on the funding rate per interval, in ppm of the oracle price.
    pub max_funding_rate_ppm: u32,
    /// Time constant of the oracle EMA.
    pub oracle_ema_period_secs: u32,
    /// Initial margin rates grow by this many times the oracle's relative gap to its EMA (ppm;
    /// 0 turns volatility scaling off).
    pub volatility_sensitivity_ppm: u32,
    /// Cap on the volatility factor (ppm, at least 1× = 1,000,000).
    pub max_volatility_factor_ppm: u32,
    /// A move of more than this within a window trips the circuit breaker (ppm; 0 turns it off).
    pub breaker_move_ppm: u32,
    /// The circuit breaker's window, in seconds.
    pub breaker_window_secs: u32,
    /// How long a tripped market stays reduce-only.
    pub breaker_cooldown_secs: u32,
    /// Taker fee in basis points.
    pub taker_fee_bps: u16,
    /// Maker fee in basis points; negative is a rebate, never larger than the taker fee.
    pub maker_fee_bps: i16,
    /// The insurance vault's share of trading fees, in basis points; the treasury gets the rest.
    pub fee_insurance_share_bps: u16,
    /// A lot is `10^base_lot_exponent` base units. Immutable.
    pub base_lot_exponent: i8,
    /// An `OracleSource` discriminant. Immutable.
    pub oracle_source: u8,
    /// Margin tiers in use.
    pub margin_tier_count: u8,
    /// For Pyth: 0 requires full Wormhole verification; n > 0 accepts partial with n signatures.
    pub pyth_min_signatures: u8,
    pub _padding: [u8; 6],
}

impl MarketParams {
    /// The liquidation fees, buffer and minimum remainder, as the engine plans with them.
    pub fn liquidation_params(&self) -> LiquidationParams {
        LiquidationParams {
            liquidation_fee: RatePpm(self.liquidation_fee_ppm),
            insurance_fee: RatePpm(self.insurance_fee_ppm),
            buffer: RatePpm(self.liquidation_buffer_ppm),
            min_position_notional: self.min_position_notional,
        }
    }

    pub fn oracle_source(&self) -> Result<OracleSource> {
        match self.oracle_source {
            0 => Ok(OracleSource::PriceFeed),
            1 => Ok(OracleSource::PythPull),
            _ => err!(PerpsError::InvalidOracleConfig),
        }
    }

    /// The validated margin tiers, as the engine reads them.
    pub fn margin_tiers(&self) -> Result<MarginTiers> {
        let count = self.margin_tier_count as usize;
        require!(
            (1..=MAX_MARGIN_TIERS).contains(&count),
            PerpsError::InvalidMarginTiers
        );
        let mut tiers = [MarginTier::default(); MAX_MARGIN_TIERS];
        for (tier, stored) in tiers.iter_mut().zip(&self.margin_tiers[..count]) {
            *tier = MarginTier {
                max_notional: stored.max_notional,
                maintenance_rate: RatePpm(stored.maintenance_rate_ppm),
                initial_rate: RatePpm(stored.initial_rate_ppm),
            };
        }
        MarginTiers::new(&tiers[..count]).map_err(|_| error!(PerpsError::InvalidMarginTiers))
    }

    pub fn oracle_limits(&self) -> OracleLimits {
        OracleLimits {
            max_staleness_secs: self.max_oracle_staleness_secs,
            max_confidence: RatePpm(self.max_oracle_confidence_ppm),
        }
    }

    /// Every rule a market's parameters must meet, each failure with its own error.
    pub fn validate(&self, bounds: &ExchangeBounds) -> Result<()> {
        require!(
            self.tick_size > 0
                && self.base_lot_exponent.unsigned_abs() <= MAX_BASE_LOT_EXPONENT as u8,
            PerpsError::InvalidLotOrTickSize
        );
        require!(
            self.min_order_lots > 0
                && self.max_open_interest_lots >= self.min_order_lots
                && self.max_open_interest_lots <= i64::MAX as u64,
            PerpsError::InvalidMarketLimits
        );
        require!(
            self.taker_fee_bps <= bounds.max_taker_fee_bps
                && self.maker_fee_bps.unsigned_abs() <= self.taker_fee_bps
                && self.fee_insurance_share_bps <= BPS,
            PerpsError::InvalidFeeRates
        );
        let tiers = self.margin_tiers()?;
        require!(
            tiers
                .as_slice()
                .iter()
                .all(|t| t.maintenance_rate.0 >= bounds.min_maintenance_rate_ppm)
                && self.margin_tiers[self.margin_tier_count as usize..]
                    .iter()
                    .all(|t| *t == MarginTierParams::default()),
            PerpsError::InvalidMarginTiers
        );
        // The liquidator's and the vault's fees must fit inside the smallest maintenance margin,
        // or liquidating a position just below maintenance would bankrupt it.
        let smallest_maintenance = tiers.as_slice()[0].maintenance_rate.0;
        require!(
            (self.liquidation_fee_ppm as u64 + self.insurance_fee_ppm as u64)
                < smallest_maintenance as u64
                && self.liquidation_buffer_ppm <= PPM,
            PerpsError::InvalidLiquidationFees
        );
        let source = self.oracle_source()?;
        require!(
            self.max_oracle_staleness_secs > 0
                && self.max_oracle_staleness_secs <= bounds.max_oracle_staleness_secs
                && self.max_oracle_confidence_ppm > 0
                && self.max_oracle_confidence_ppm <= bounds.max_oracle_confidence_ppm
                && match source {
                    OracleSource::PriceFeed => {
                        self.pyth_feed_id == [0; 32] && self.pyth_min_signatures == 0
                    }
                    OracleSource::PythPull => self.pyth_feed_id != [0; 32],
                },
            PerpsError::InvalidOracleConfig
        );
        require!(
            self.price_band_ppm > 0 && self.price_band_ppm <= MAX_PRICE_BAND_PPM,
            PerpsError::InvalidPriceBand
        );
        require!(
            (MIN_FUNDING_INTERVAL_SECS..=MAX_FUNDING_INTERVAL_SECS)
                .contains(&self.funding_interval_secs)
                && self.max_funding_rate_ppm <= MAX_FUNDING_RATE_PPM,
            PerpsError::InvalidFundingParams
        );
        require!(
            (1..=MAX_PERIOD_SECS).contains(&self.oracle_ema_period_secs)
                && self.volatility_sensitivity_ppm <= MAX_VOLATILITY_SENSITIVITY_PPM
                && (PPM..=MAX_VOLATILITY_FACTOR_PPM).contains(&self.max_volatility_factor_ppm),
            PerpsError::InvalidVolatilityParams
        );
        require!(
            self.breaker_move_ppm <= PPM
                && (self.breaker_move_ppm == 0
                    || (1..=MAX_PERIOD_SECS).contains(&self.breaker_window_secs))
                && self.breaker_cooldown_secs <= MAX_PERIOD_SECS,
            PerpsError::InvalidCircuitBreaker
        );
        require!(self._padding == [0; 6], PerpsError::InvalidMarketLimits);
        Ok(())
    }

    /// The rules of an update on top of `validate`: the units and the oracle identity cannot
    /// change under open positions, and no maintenance rate may rise, since that would make
    /// positions liquidatable without a price move (DESIGN.md §12.4).
    pub fn validate_update(&self, current: &MarketParams) -> Result<()> {
        require!(
            self.tick_size == current.tick_size
                && self.base_lot_exponent == current.base_lot_exponent
                && self.oracle_source == current.oracle_source
                && self.pyth_feed_id == current.pyth_feed_id,
            PerpsError::ImmutableParameter
        );
        let (new_tiers, old_tiers) = (self.margin_tiers()?, current.margin_tiers()?);
        let never_higher = |n: perps_engine::SignedQuote| -> Result<bool> {
            Ok(new_tiers.tier_for(n).maintenance_rate <= old_tiers.tier_for(n).maintenance_rate)
        };
        // The rate is a step function of notional: compare it at every step of either list.
        for tier in new_tiers.as_slice().iter().chain(old_tiers.as_slice()) {
            for notional in [tier.max_notional, tier.max_notional.saturating_add(1)] {
                require!(
                    never_higher(perps_engine::SignedQuote(notional as i128))?,
                    PerpsError::MaintenanceRateIncrease
                );
            }
        }
        require!(
            never_higher(perps_engine::SignedQuote(0))?,
            PerpsError::MaintenanceRateIncrease
        );
        Ok(())
    }
}

/// A perpetual market (zero-copy: read by every instruction).
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    /// The exchange.
    pub exchange: Pubkey,
    /// The oracle account: this market's `PriceFeed`, or a Pyth price-update account.
    pub oracle: Pubkey,
    /// The market's collateral vault.
    pub collateral_vault: Pubkey,
    /// The market's insurance vault.
    pub insurance_vault: Pubkey,
    /// The market's `OrderBook` account, once initialised.
    pub order_book: Pubkey,
    /// The market's parameters.
    pub params: MarketParams,
    /// Open interest in lots; equal on both sides after every fill.
    pub open_interest_long: u64,
    /// Open interest short, in lots.
    pub open_interest_short: u64,
    /// Quote atoms per lot at which a settled market closes its positions.
    pub settlement_price: u64,
    /// Cumulative funding per lot, in `FUNDING_INDEX_SCALE` units of a quote atom.
    pub funding_index: i64,
    /// Unix time of the last funding crank.
    pub last_funding_time: i64,
    /// The rate applied by the last crank, signed ppm per interval.
    pub last_funding_rate_ppm: i64,
    /// Funding rounding kept from positions, in index units, not yet swept to insurance.
    pub funding_residue: i64,
    /// Exponential moving average of the oracle price (quote atoms per lot) and when it moved.
    pub oracle_ema: u64,
    /// Unix time of the last oracle observation (for the EMA).
    pub last_oracle_time: i64,
    /// The circuit breaker's window: its reference price and start, and the reference of the
    /// window just before it while adjacent (0 otherwise); and, while tripped, the time the
    /// market returns to Active by itself (0 when not tripped).
    pub breaker_reference_price: u64,
    /// Start of the breaker's window.
    pub breaker_window_start: i64,
    /// While tripped, when the market returns to Active (0 when not tripped).
    pub breaker_until: i64,
    /// The reference of the window just before, while adjacent (0 otherwise).
    pub breaker_previous_reference: u64,
    /// The funding premium clock (DESIGN.md §10): the book's impact premium over the oracle as
    /// the book stands since its last change (signed ppm), the time of that change, the premium
    /// integrated over time since the last funding crank (ppm·seconds), and the oracle price the
    /// premium was taken at (a cancel, which reads no oracle, takes it again at that price).
    pub funding_premium_ppm: i64,
    /// When the funding premium was last sampled.
    pub funding_sample_time: i64,
    /// The premium integrated since the last crank, ppm·seconds.
    pub funding_premium_sum: i64,
    /// The oracle price the premium was last sampled at.
    pub funding_sample_oracle: u64,
    /// The market's `PositionRegistry`, once initialised.
    pub position_registry: Pubkey,
    /// The ADL book (DESIGN.md §7–8): every bankrupt position the insurance vault could not cover,
    /// taken over whole (lots, cost basis, collateral and the vault's payment) and merged into
    /// one position the market holds until ADL has closed it. Its owner is the market.
    pub adl_book: Position,
    /// The current ADL sweep (counted from 1) and the oracle price it ranks at, fixed when it
    /// started: when the market entered ADL, or when a ranking was used up with lots left.
    pub adl_snapshot_price: u64,
    /// The current ADL sweep, counted from 1.
    pub adl_sweep: u32,
    /// The side the sweep ranks: opposite the book's (`PositionSide` as 0 long, 1 short).
    pub adl_candidate_side: u8,
    pub _adl_padding: [u8; 3],
    /// The number of the last event the market emitted: every event of a market carries the
    /// next one, so an integrator sees a gap as a missed event.
    pub event_sequence: u64,
    /// The market's symbol, UTF-8, zero-padded.
    pub symbol: [u8; 16],
    /// The market's index.
    pub index: u16,
    /// A `MarketStatus` discriminant.
    pub status: u8,
    /// The PDA's bump.
    pub bump: u8,
    /// The collateral vault PDA's bump.
    pub collateral_vault_bump: u8,
    /// The insurance vault PDA's bump.
    pub insurance_vault_bump: u8,
    /// Decimals of the collateral mint, for oracle price conversion.
    pub quote_decimals: u8,
    /// The account layout's version (`Market::VERSION` when created).
    pub version: u8,
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 256],
}

// The README's account table: 8 + 1,064 bytes (the ADL book a 192-byte Position), 256 of them
// reserved.
const _: () = assert!(8 + std::mem::size_of::<Market>() == 1_072);

impl Market {
    pub const VERSION: u8 = 1;

    pub fn status(&self) -> Result<MarketStatus> {
        Ok(MarketStatus::try_from(self.status)?)
    }

    /// Refuses instructions that need trading: a paused or settled market.
    pub fn require_open(&self) -> Result<MarketStatus> {
        match self.status()? {
            MarketStatus::Paused => err!(PerpsError::MarketPaused),
            MarketStatus::Settled => err!(PerpsError::MarketSettled),
            status => Ok(status),
        }
    }

    /// Whether the market is in ADL: its book holds lots (DESIGN.md §8).
    pub fn is_adl_pending(&self) -> bool {
        self.adl_book.base_lots != 0
    }

    /// The ADL book's side, while the market is in ADL.
    pub fn adl_book_side(&self) -> Option<PositionSide> {
        self.adl_book.state().side()
    }

    /// The ADL book's side and the price ADL would close it at if the oracle were `price`
    /// (`adl_fill_price`, funding settled in memory, before the vault pays in); `None` when the
    /// book holds no lots.
    pub fn adl_book_fill_price(&self, price: Price) -> Result<Option<(PositionSide, SignedPrice)>> {
        let book = self.adl_book.state_at(self.funding_index)?;
        let Some(side) = book.side() else {
            return Ok(None);
        };
        let bankruptcy_price = book.signed_bankruptcy_price().map_engine_err()?;
        Ok(Some((side, adl_fill_price(side, bankruptcy_price, price))))
    }

    /// Starts a sweep ranking the positions opposite the book at `snapshot_price`; the registry
    /// resets its ranking when it sees the new sweep number.
    pub fn start_adl_sweep(
        &mut self,
        market_key: Pubkey,
        snapshot_price: Price,
    ) -> Result<AdlRankingStarted> {
        let book_side = self.adl_book_side().ok_or(PerpsError::NoAdlPending)?;
        self.adl_sweep = self
            .adl_sweep
            .checked_add(1)
            .ok_or(PerpsError::MathOverflow)?;
        self.adl_snapshot_price = snapshot_price.0;
        self.adl_candidate_side = side_code(book_side.opposite());
        Ok(AdlRankingStarted {
            header: EventHeader::of(market_key),
            sweep: self.adl_sweep,
            snapshot_price: snapshot_price.0,
            candidate_side: self.adl_candidate_side,
        })
    }

    /// Takes a bankrupt `position` (funding settled, the vault's payment already in its
    /// collateral) over into the ADL book: its lots, cost basis and collateral join the book's,
    /// and the position is left empty. Lots on the book's side only change hands; lots on the
    /// other side net against the book's and leave open interest on both sides. Equity is linear
    /// in all three, so the book's equity at any price is the sum of what it took over.
    pub fn take_over_into_adl_book(&mut self, position: &mut Position) -> Result<()> {
        let mut book = self.adl_book;
        book.settle_funding(self)?;
        let lots_before = (SignedLots(book.base_lots), SignedLots(position.base_lots));
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or(PerpsError::MathOverflow);
        book.collateral = sum(book.collateral, position.collateral)?;
        book.base_lots = sum(book.base_lots, position.base_lots)?;
        book.cost_basis = sum(book.cost_basis, position.cost_basis)?;
        if book.base_lots == 0 {
            // Opposite bankruptcies that net out: what is left is realized.
            book.collateral = book
                .collateral
                .checked_sub(book.cost_basis)
                .ok_or(PerpsError::MathOverflow)?;
            book.cost_basis = 0;
        }
        position.collateral = 0;
        position.base_lots = 0;
        position.cost_basis = 0;
        let (book_long, book_short) =
            open_interest_change(lots_before.0, SignedLots(book.base_lots));
        let (left_long, left_short) = open_interest_change(lots_before.1, SignedLots(0));
        let moved = |open: u64, a: i128, b: i128| {
            u64::try_from(open as i128 + a + b).map_err(|_| error!(PerpsError::MathOverflow))
        };
        self.open_interest_long = moved(self.open_interest_long, book_long, left_long)?;
        self.open_interest_short = moved(self.open_interest_short, book_short, left_short)?;
        self.adl_book = book;
        Ok(())
    }

    /// Whether a settled market still has something for `settle_position` to move even on a flat
    /// position: a whole atom of funding residue, or a flat ADL book's surplus, or its deficit
    /// while the insurance vault holds `insurance_available` above its floor.
    pub fn has_settlement_leftovers(&self, insurance_available: u64) -> bool {
        let book = &self.adl_book;
        self.funding_residue >= funding::FUNDING_INDEX_SCALE as i64
            || (book.base_lots == 0
                && (book.collateral > 0 || (book.collateral < 0 && insurance_available > 0)))
    }

    /// Takes the whole atoms out of the funding residue (the rounding positions overpaid, kept
    /// in index units) for the insurance vault; the fraction of an atom stays.
    /// Only a positive residue holds atoms; unsigned division, as SBPF v0 has no signed one.
    pub fn take_funding_residue(&mut self) -> u64 {
        let Ok(residue) = u64::try_from(self.funding_residue) else {
            return 0;
        };
        let scale = funding::FUNDING_INDEX_SCALE as u64;
        // Less than the scale: fits back in i64.
        self.funding_residue = (residue % scale) as i64;
        residue / scale
    }

    fn premium_clock(&self) -> PremiumClock {
        PremiumClock {
            premium_ppm: self.funding_premium_ppm,
            sampled_at: self.funding_sample_time,
            sum: self.funding_premium_sum,
        }
    }

    fn store_premium_clock(&mut self, clock: PremiumClock) {
        self.funding_premium_ppm = clock.premium_ppm;
        self.funding_sample_time = clock.sampled_at;
        self.funding_premium_sum = clock.sum;
    }

    /// Samples the funding premium at `now` (DESIGN.md §10), after an instruction changed `book`
    /// or at a funding crank: the period since the last sample is closed at the premium that held
    /// through it, and the book's impact premium at `oracle` holds from now on.
    pub fn sample_funding_premium(&mut self, book: &Book, oracle: Price, now: i64) -> Result<()> {
        let notional = funding::impact_notional(self.quote_decimals, &self.params.margin_tiers()?)
            .map_engine_err()?;
        let premium =
            funding::impact_premium(book, oracle, RatePpm(self.params.price_band_ppm), notional)
                .map_engine_err()?;
        let mut clock = self.premium_clock();
        clock.sample(now, premium).map_engine_err()?;
        self.store_premium_clock(clock);
        self.funding_sample_oracle = oracle.0;
        Ok(())
    }

    /// `sample_funding_premium` after a cancel, which reads no oracle: at the oracle price of the
    /// last sample. A cancel only takes liquidity away, so it can only bring the premium toward
    /// zero, whatever the oracle did since.
    pub fn resample_funding_premium(&mut self, book: &Book, now: i64) -> Result<()> {
        match self.funding_sample_oracle {
            0 => {
                let mut clock = self.premium_clock();
                clock.sample(now, 0).map_engine_err()?;
                self.store_premium_clock(clock);
                Ok(())
            }
            oracle => self.sample_funding_premium(book, Price(oracle), now),
        }
    }

    /// The time-weighted premium over the `elapsed` seconds since the last crank (sampled at this
    /// crank first); the integral starts again from zero.
    pub fn take_average_premium(&mut self, elapsed: i64) -> Result<i64> {
        let mut clock = self.premium_clock();
        let average = clock.take_average(elapsed).map_engine_err()?;
        self.store_premium_clock(clock);
        Ok(average)
    }

    /// The circuit breaker's window as the engine reads it.
    pub fn breaker_window(&self) -> BreakerWindow {
        BreakerWindow {
            reference: Price(self.breaker_reference_price),
            previous_reference: Price(self.breaker_previous_reference),
            start: self.breaker_window_start,
        }
    }

    pub fn store_breaker_window(&mut self, window: BreakerWindow) {
        self.breaker_reference_price = window.reference.0;
        self.breaker_previous_reference = window.previous_reference.0;
        self.breaker_window_start = window.start;
    }

    /// The factor initial margin rates are scaled by at `price` (DESIGN.md §6).
    pub fn initial_margin_factor(&self, price: perps_engine::Price) -> Result<RatePpm> {
        if self.params.volatility_sensitivity_ppm == 0 || self.oracle_ema == 0 {
            return Ok(RatePpm::ONE);
        }
        Ok(perps_engine::volatility::volatility_factor(
            price,
            perps_engine::Price(self.oracle_ema),
            RatePpm(self.params.volatility_sensitivity_ppm),
            RatePpm(self.params.max_volatility_factor_ppm),
        )
        .map_engine_err()?)
    }

    /// The market PDA's signer seeds, copied out so the account can be released before a CPI.
    pub fn signer(&self) -> MarketSigner {
        MarketSigner {
            index: self.index.to_le_bytes(),
            bump: [self.bump],
        }
    }
}

/// Seeds of a market PDA, the authority of both of its vaults.
pub struct MarketSigner {
    index: [u8; 2],
    bump: [u8; 1],
}

impl MarketSigner {
    pub fn seeds(&self) -> [&[u8]; 3] {
        [MARKET_SEED, &self.index, &self.bump]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funding_residue_gives_up_its_whole_atoms_and_keeps_the_fraction() {
        let mut market: Market = bytemuck::Zeroable::zeroed();
        market.funding_residue = 2 * funding::FUNDING_INDEX_SCALE as i64 + 7;
        assert_eq!(market.take_funding_residue(), 2);
        assert_eq!(market.funding_residue, 7);
        assert_eq!(market.take_funding_residue(), 0);
        market.funding_residue = -3;
        assert_eq!(market.take_funding_residue(), 0);
        assert_eq!(market.funding_residue, -3);
    }
}
