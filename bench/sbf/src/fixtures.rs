//! Deterministic inputs shared by the program and the runner: market figures, the order book
//! and the ADL candidates.

use alloc::vec::Vec;
use perps_engine::{
    BaseLots, Book, MarginTier, MarginTiers, OrderSide, PositionState, Price, RatePpm, SignedLots,
    SignedQuote, BOOK_SIDE_CAPACITY, PPM,
};

/// The oracle: 100 USDC a lot, in quote atoms (6 decimals).
pub const ORACLE: Price = Price(100_000_000);
/// Price step between the book's levels (0.01 USDC); two orders rest at each level.
pub const TICK: u64 = 10_000;
/// Distinct makers on the book: each has 16 orders a side, 32 in all, the program's cap.
pub const MAKERS: usize = 32;
/// The taker's position address, not a maker's (no self-trade cancels).
pub const TAKER: [u8; 32] = [0xEE; 32];
/// The price a bankrupt long is deleveraged at: 5% above the oracle, so that some candidates
/// cannot pay the haircut on all their lots and `adl_capacity` bisects.
pub const ADL_BANKRUPTCY_PRICE: Price = Price(105_000_000);

/// A 64-bit linear congruential generator (Knuth's MMIX constants): enough to vary the inputs.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// The margin brackets of the engine's tests: up to 10k USDC at 0.5%/1%, up to 100k at 1%/2%,
/// above at 2.5%/5%.
pub fn tiers() -> MarginTiers {
    let tier = |max_notional, maintenance, initial| MarginTier {
        max_notional,
        maintenance_rate: RatePpm(maintenance),
        initial_rate: RatePpm(initial),
    };
    MarginTiers::new(&[
        tier(10_000_000_000, 5_000, 10_000),
        tier(100_000_000_000, 10_000, 20_000),
        tier(u64::MAX, 25_000, 50_000),
    ])
    .expect("the brackets are valid")
}

pub fn maker_key(maker: usize) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(maker as u64 + 1).to_le_bytes());
    key
}

/// A book with `BOOK_SIDE_CAPACITY` bids and `asks` asks around the oracle, two orders a level,
/// levels one tick apart from one tick off the oracle, 1 to 100 lots each, makers in turn.
pub fn fill_book(book: &mut Book, asks: usize) {
    let mut rng = Lcg::new(7);
    for (side, count) in [(OrderSide::Bid, BOOK_SIDE_CAPACITY), (OrderSide::Ask, asks)] {
        for i in 0..count {
            let offset = TICK * (1 + i as u64 / 2);
            let price = match side {
                OrderSide::Bid => ORACLE.0 - offset,
                OrderSide::Ask => ORACLE.0 + offset,
            };
            let lots = BaseLots(1 + rng.below(100));
            book.rest(
                side,
                maker_key(i % MAKERS),
                Price(price),
                lots,
                i as u64,
                false,
            )
            .expect("the side has room");
        }
    }
}

/// `n` profitable shorts, ADL candidates against a bankrupt long: 1 to 1,000 lots each, entered
/// 0.5% to 10% above the oracle with 3% to 10% of the entry notional as collateral.
pub fn adl_candidates(n: usize) -> Vec<([u8; 32], PositionState)> {
    let mut rng = Lcg::new(11);
    (0..n)
        .map(|_| {
            let mut key = [0u8; 32];
            for chunk in key.chunks_mut(4) {
                chunk.copy_from_slice(&(rng.below(1 << 32) as u32).to_le_bytes());
            }
            let lots = 1 + rng.below(1_000);
            let entry = ORACLE.0 / PPM as u64 * (PPM as u64 + 5_000 + rng.below(95_000));
            let cost = (lots * entry) as i128;
            let collateral = cost * (30_000 + rng.below(70_000)) as i128 / PPM as i128;
            let state = PositionState {
                collateral: SignedQuote(collateral),
                size: SignedLots(-(lots as i64)),
                cost_basis: SignedQuote(-cost),
                open_bids: BaseLots(0),
                open_asks: BaseLots(0),
            };
            (key, state)
        })
        .collect()
}
