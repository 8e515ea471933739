//! Typed quantities, after phoenix-v1: a lot count, a price and an amount of quote atoms are distinct
//! types, so a unit mix-up does not compile. Products that change units are named functions.

use crate::{math, EngineError, EngineResult};

/// One whole in parts per million: rates (margin, fees, confidence) are `RatePpm` out of this.
pub const PPM: u32 = 1_000_000;

/// An unsigned count of base lots: an order size, a fill, open interest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseLots(pub u64);

/// A position size in base lots: positive long, negative short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedLots(pub i64);

/// A price in quote atoms per base lot (so the value of a fill, `lots · price`, is exact).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub u64);

/// A price per lot that may be negative: the bankruptcy price of a short that has lost more than
/// its collateral and everything it sold for (its equity is negative at every price `≥ 0`). ADL
/// closes such a position there: each candidate gives its lots up and pays `|price|` a lot on top,
/// so the haircuts still add up to the deficit (DESIGN.md §7). Every other price is a `Price`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedPrice(pub i128);

impl From<Price> for SignedPrice {
    fn from(price: Price) -> Self {
        SignedPrice(price.0 as i128)
    }
}

/// An unsigned amount of the collateral token, in its smallest unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuoteAtoms(pub u64);

/// A signed quote amount for computed values: PnL, equity, cost basis, notional, margin.
/// Held in i128 so that `lots · price` of any two 64-bit operands never overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedQuote(pub i128);

/// A rate in parts per million of one (`PPM` is 100%).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RatePpm(pub u32);

impl RatePpm {
    /// 100%, or a factor of 1×.
    pub const ONE: RatePpm = RatePpm(PPM);
}

impl SignedLots {
    pub const ZERO: SignedLots = SignedLots(0);

    /// The unsigned size.
    pub fn abs(self) -> BaseLots {
        BaseLots(self.0.unsigned_abs())
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Price {
    /// The exact quote value of `lots` at this price.
    pub fn value_of(self, lots: BaseLots) -> EngineResult<SignedQuote> {
        // u64 · u64 always fits u128, but not always i128: convert with a check.
        i128::try_from(math::mul_wide_u64(lots.0, self.0))
            .map(SignedQuote)
            .map_err(|_| EngineError::MathOverflow)
    }

    /// The exact signed quote value of a signed size at this price (`q · P`).
    pub fn signed_value_of(self, size: SignedLots) -> EngineResult<SignedQuote> {
        math::mul(size.0 as i128, self.0 as i128).map(SignedQuote)
    }
}

impl SignedQuote {
    pub const ZERO: SignedQuote = SignedQuote(0);

    pub fn checked_add(self, other: SignedQuote) -> EngineResult<SignedQuote> {
        math::add(self.0, other.0).map(SignedQuote)
    }

    pub fn checked_sub(self, other: SignedQuote) -> EngineResult<SignedQuote> {
        math::sub(self.0, other.0).map(SignedQuote)
    }

    /// `self · rate`, rounded up: used for requirements, which round against the position.
    pub fn mul_rate_ceil(self, rate: RatePpm) -> EngineResult<SignedQuote> {
        math::div_ceil(math::mul(self.0, rate.0 as i128)?, PPM as i128).map(SignedQuote)
    }

    /// `self · rate`, rounded down: used for amounts paid to the position.
    pub fn mul_rate_floor(self, rate: RatePpm) -> EngineResult<SignedQuote> {
        math::div_floor(math::mul(self.0, rate.0 as i128)?, PPM as i128).map(SignedQuote)
    }

    /// The amount as token atoms, if it is non-negative and fits in u64.
    pub fn to_atoms(self) -> EngineResult<QuoteAtoms> {
        u64::try_from(self.0)
            .map(QuoteAtoms)
            .map_err(|_| EngineError::MathOverflow)
    }
}

impl From<QuoteAtoms> for SignedQuote {
    fn from(atoms: QuoteAtoms) -> Self {
        SignedQuote(atoms.0 as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_of_the_largest_operands_is_exact() {
        // (2^64 - 1)^2 exceeds i128::MAX: an error, never a wrap to a negative value.
        let v = Price(u64::MAX).value_of(BaseLots(u64::MAX));
        assert_eq!(v, Err(EngineError::MathOverflow));
        let v = Price(u64::MAX).value_of(BaseLots(i64::MAX as u64));
        assert_eq!(v, Ok(SignedQuote((u64::MAX as i128) * (i64::MAX as i128))));
    }

    #[test]
    fn rate_multiplication_rounds_in_the_named_direction() {
        // 1_000_001 atoms at 0.5% = 5000.005 atoms.
        let n = SignedQuote(1_000_001);
        assert_eq!(n.mul_rate_ceil(RatePpm(5_000)), Ok(SignedQuote(5_001)));
        assert_eq!(n.mul_rate_floor(RatePpm(5_000)), Ok(SignedQuote(5_000)));
        assert_eq!(SignedQuote(-1).to_atoms(), Err(EngineError::MathOverflow));
    }
}
