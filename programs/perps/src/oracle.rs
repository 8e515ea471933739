//! The one place an instruction gets a price (DESIGN.md §11): the market's `PriceFeed` or a Pyth
//! `PriceUpdateV2`, checked for identity, owner, feed, verification, staleness and confidence, then
//! converted by the engine into quote atoms per lot.

use anchor_lang::prelude::*;
use perps_engine::{OracleReading, OracleUse, Price};
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{CircuitBreakerCleared, CircuitBreakerTripped, EventHeader},
    state::{Market, MarketParams, MarketStatus, OracleSource, PriceFeed},
};

/// Reads the raw report from `oracle`, checking that it is the account `expected_key` names, owned
/// and laid out as `params` say, and (for the program's own feed) made for `market_key`.
pub fn load_reading(
    params: &MarketParams,
    expected_key: &Pubkey,
    market_key: &Pubkey,
    oracle: &AccountInfo,
) -> Result<OracleReading> {
    require_keys_eq!(*oracle.key, *expected_key, PerpsError::WrongOracle);
    let data = oracle
        .try_borrow_data()
        .map_err(|_| error!(PerpsError::InvalidOracleAccount))?;
    match params.oracle_source()? {
        OracleSource::PriceFeed => {
            require_keys_eq!(*oracle.owner, crate::ID, PerpsError::InvalidOracleAccount);
            let feed = PriceFeed::try_deserialize(&mut &data[..])
                .map_err(|_| error!(PerpsError::InvalidOracleAccount))?;
            require_keys_eq!(feed.market, *market_key, PerpsError::WrongOracle);
            Ok(feed.reading())
        }
        OracleSource::PythPull => {
            require_keys_eq!(
                *oracle.owner,
                pyth_solana_receiver_sdk::ID,
                PerpsError::InvalidOracleAccount
            );
            let update = PriceUpdateV2::try_deserialize(&mut &data[..])
                .map_err(|_| error!(PerpsError::InvalidOracleAccount))?;
            require!(
                update.price_message.feed_id == params.pyth_feed_id,
                PerpsError::OracleFeedMismatch
            );
            let required = match params.pyth_min_signatures {
                0 => VerificationLevel::Full,
                n => VerificationLevel::Partial { num_signatures: n },
            };
            require!(
                update.verification_level.gte(required),
                PerpsError::OracleVerificationTooLow
            );
            let m = update.price_message;
            Ok(OracleReading {
                price: m.price,
                conf: m.conf,
                expo: m.exponent,
                publish_time: m.publish_time,
            })
        }
    }
}

/// The price of the market at `market_key`, in quote atoms per lot, valid for `usage` now.
pub fn read_price(
    market: &Market,
    market_key: &Pubkey,
    oracle: &AccountInfo,
    usage: OracleUse,
) -> Result<Price> {
    let reading = load_reading(&market.params, &market.oracle, market_key, oracle)?;
    let now = Clock::get()?.unix_timestamp;
    reading
        .validate(now, &market.params.oracle_limits(), usage)
        .map_engine_err()?;
    Ok(reading
        .lot_price(market.quote_decimals, market.params.base_lot_exponent)
        .map_engine_err()?)
}

/// What a price observation did to the circuit breaker, for the instruction to emit.
#[derive(Default)]
pub struct BreakerEvents {
    pub cleared: Option<CircuitBreakerCleared>,
    pub tripped: Option<CircuitBreakerTripped>,
}

/// Reads the market's price like `read_price` and lets the market observe it: the oracle EMA
/// moves, a breaker whose cool-down has passed clears (the market returns to Active), and a move
/// beyond the breaker's limit from the reference of its window, or of the window just before
/// (`BreakerWindow::observe`), puts an Active market into ReduceOnly; `breaker` records either.
pub fn observe_price(
    market: &mut Market,
    market_key: &Pubkey,
    oracle: &AccountInfo,
    usage: OracleUse,
    breaker: &mut BreakerEvents,
) -> Result<Price> {
    let price = read_price(market, market_key, oracle, usage)?;
    let now = Clock::get()?.unix_timestamp;
    let params = market.params;
    market.oracle_ema = perps_engine::volatility::update_ema(
        Price(market.oracle_ema),
        price,
        now - market.last_oracle_time,
        params.oracle_ema_period_secs,
    )
    .map_engine_err()?
    .0;
    market.last_oracle_time = now;

    if market.breaker_until != 0 && now >= market.breaker_until {
        market.breaker_until = 0;
        if market.status()? == MarketStatus::ReduceOnly {
            market.status = MarketStatus::Active as u8;
        }
        breaker.cleared = Some(CircuitBreakerCleared {
            header: EventHeader::of(*market_key),
        });
    }
    if params.breaker_move_ppm > 0 {
        let mut window = market.breaker_window();
        let moved_from = window
            .observe(
                price,
                now,
                params.breaker_window_secs,
                perps_engine::RatePpm(params.breaker_move_ppm),
            )
            .map_engine_err()?;
        if let Some(reference) = moved_from {
            if market.status()? == MarketStatus::Active {
                market.status = MarketStatus::ReduceOnly as u8;
                market.breaker_until = now + params.breaker_cooldown_secs as i64;
                breaker.tripped = Some(CircuitBreakerTripped {
                    header: EventHeader::of(*market_key),
                    reference_price: reference.0,
                    price: price.0,
                    until: market.breaker_until,
                });
                window = perps_engine::volatility::BreakerWindow::starting(price, now);
            }
        }
        market.store_breaker_window(window);
    }
    Ok(price)
}
