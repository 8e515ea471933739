use anchor_lang::prelude::*;

pub const PRICE_FEED_SEED: &[u8] = b"feed";

/// The program's own oracle for localnet, tests and the simulator: a price pushed by an oracle
/// authority, shaped like a Pyth report (`price · 10^expo` quote units per base unit).
#[account]
#[derive(InitSpace)]
pub struct PriceFeed {
    /// The market this feed prices.
    pub market: Pubkey,
    /// The only signer allowed to push prices.
    pub authority: Pubkey,
    /// Price in quote atoms per lot.
    pub price: i64,
    /// Confidence interval, in the same units as the price.
    pub conf: u64,
    /// Unix time of the price.
    pub publish_time: i64,
    /// The feed's exponent: prices are `price · 10^expo` quote units per base unit.
    pub expo: i32,
    /// The PDA's bump.
    pub bump: u8,
    /// The account layout's version (`PriceFeed::VERSION` when created).
    pub version: u8,
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 32],
}

// The README's account table: 8 + 126 bytes, 32 of them reserved.
const _: () = assert!(8 + PriceFeed::INIT_SPACE == 134);

impl PriceFeed {
    pub const VERSION: u8 = 1;

    pub fn reading(&self) -> perps_engine::OracleReading {
        perps_engine::OracleReading {
            price: self.price,
            conf: self.conf,
            expo: self.expo,
            publish_time: self.publish_time,
        }
    }
}
