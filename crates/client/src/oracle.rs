//! The market's price as the program would read it: the program's own `oracle::load_reading`
//! runs over the fetched account, then the engine validates and converts it.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use perps::state::Market;
use perps_engine::{oracle::OracleUse, Price};

/// The price of the market at `market_key` from its oracle account (`owner`, `data`) at unix
/// time `now`, or why the program would refuse it.
pub fn oracle_price(
    market_key: &Pubkey,
    market: &Market,
    owner: &Pubkey,
    data: &[u8],
    now: i64,
    usage: OracleUse,
) -> Result<Price, String> {
    let mut lamports = 0u64;
    let mut data = data.to_vec();
    let info = AccountInfo::new(
        &market.oracle,
        false,
        false,
        &mut lamports,
        &mut data,
        owner,
        false,
    );
    let reading = perps::oracle::load_reading(&market.params, &market.oracle, market_key, &info)
        .map_err(|e| e.to_string())?;
    reading
        .validate(now, &market.params.oracle_limits(), usage)
        .map_err(|e| format!("{e:?}"))?;
    reading
        .lot_price(market.quote_decimals, market.params.base_lot_exponent)
        .map_err(|e| format!("{e:?}"))
}
