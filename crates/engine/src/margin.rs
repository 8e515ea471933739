//! Margin tiers: maintenance and initial rates that rise with notional, like the risk brackets of
//! the large venues. A position's requirement is its whole notional times the rate of the tier that
//! notional falls in (DESIGN.md §6), rounded up.

use crate::{EngineError, EngineResult, RatePpm, SignedQuote, PPM};

/// The most tiers a market can have.
pub const MAX_MARGIN_TIERS: usize = 6;

/// One bracket: notional up to and including `max_notional` uses these rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarginTier {
    /// Upper bound of the bracket in quote atoms (inclusive). The last tier also covers all above.
    pub max_notional: u64,
    /// Maintenance margin rate: below `notional · maintenance_rate` of equity a position is liquidatable.
    pub maintenance_rate: RatePpm,
    /// Initial margin rate: opening risk and withdrawing need `notional · initial_rate` of equity.
    pub initial_rate: RatePpm,
}

/// A validated, non-empty list of tiers, ascending in notional with non-decreasing rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginTiers {
    tiers: [MarginTier; MAX_MARGIN_TIERS],
    len: usize,
}

impl MarginTiers {
    /// Validates `tiers`: 1 to `MAX_MARGIN_TIERS` of them; bounds strictly ascending; for each,
    /// `0 < maintenance < initial <= 100%`; both rates non-decreasing from one tier to the next.
    pub fn new(tiers: &[MarginTier]) -> EngineResult<Self> {
        if tiers.is_empty() || tiers.len() > MAX_MARGIN_TIERS {
            return Err(EngineError::InvalidMarginTiers);
        }
        for (i, tier) in tiers.iter().enumerate() {
            let (mm, im) = (tier.maintenance_rate.0, tier.initial_rate.0);
            if mm == 0 || mm >= im || im > PPM {
                return Err(EngineError::InvalidMarginTiers);
            }
            if let Some(prev) = i.checked_sub(1).map(|p| tiers[p]) {
                if tier.max_notional <= prev.max_notional
                    || tier.maintenance_rate < prev.maintenance_rate
                    || tier.initial_rate < prev.initial_rate
                {
                    return Err(EngineError::InvalidMarginTiers);
                }
            }
        }
        let mut stored = [MarginTier::default(); MAX_MARGIN_TIERS];
        stored[..tiers.len()].copy_from_slice(tiers);
        Ok(Self {
            tiers: stored,
            len: tiers.len(),
        })
    }

    pub fn as_slice(&self) -> &[MarginTier] {
        &self.tiers[..self.len]
    }

    /// The tier a (non-negative) notional falls in.
    pub fn tier_for(&self, notional: SignedQuote) -> &MarginTier {
        let tiers = self.as_slice();
        tiers
            .iter()
            .find(|t| notional.0 <= t.max_notional as i128)
            .unwrap_or(&tiers[self.len - 1])
    }

    /// The lower bound (exclusive) of tier `i`'s notional bracket; 0 is inclusive for the first.
    pub(crate) fn lower_bound(&self, i: usize) -> u64 {
        if i == 0 {
            0
        } else {
            self.tiers[i - 1].max_notional
        }
    }

    /// `notional · mmr(notional)`, rounded up.
    pub fn maintenance_margin(&self, notional: SignedQuote) -> EngineResult<SignedQuote> {
        notional.mul_rate_ceil(self.tier_for(notional).maintenance_rate)
    }

    /// `notional · imr(notional)`, rounded up.
    pub fn initial_margin(&self, notional: SignedQuote) -> EngineResult<SignedQuote> {
        notional.mul_rate_ceil(self.tier_for(notional).initial_rate)
    }

    /// Initial margin with the rate scaled by `factor` (the volatility factor, `PPM` = 1×),
    /// never above the whole notional; rounded up.
    pub fn scaled_initial_margin(
        &self,
        notional: SignedQuote,
        factor: RatePpm,
    ) -> EngineResult<SignedQuote> {
        let rate = self.tier_for(notional).initial_rate.0 as u64 * factor.0 as u64;
        let scaled = crate::math::div_ceil(rate as i128, PPM as i128)?.min(PPM as i128);
        notional.mul_rate_ceil(RatePpm(scaled as u32))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Three brackets: up to 10k USDC at 0.5%/1% (100x), up to 100k at 1%/2% (50x), above at 2.5%/5% (20x).
    pub(crate) fn sample_tiers() -> MarginTiers {
        MarginTiers::new(&[
            MarginTier {
                max_notional: 10_000_000_000,
                maintenance_rate: RatePpm(5_000),
                initial_rate: RatePpm(10_000),
            },
            MarginTier {
                max_notional: 100_000_000_000,
                maintenance_rate: RatePpm(10_000),
                initial_rate: RatePpm(20_000),
            },
            MarginTier {
                max_notional: u64::MAX,
                maintenance_rate: RatePpm(25_000),
                initial_rate: RatePpm(50_000),
            },
        ])
        .unwrap()
    }

    #[test]
    fn requirements_use_the_rate_of_the_bracket_the_notional_falls_in() {
        let t = sample_tiers();
        // 10k exactly is still the first bracket: 0.5% = 50 USDC.
        assert_eq!(
            t.maintenance_margin(SignedQuote(10_000_000_000)),
            Ok(SignedQuote(50_000_000))
        );
        // One atom more moves the whole notional to 1%.
        assert_eq!(
            t.maintenance_margin(SignedQuote(10_000_000_001)),
            Ok(SignedQuote(100_000_001))
        );
        assert_eq!(
            t.initial_margin(SignedQuote(10_000_000_001)),
            Ok(SignedQuote(200_000_001))
        );
        // Above the last bound the last bracket applies: 1M USDC at 5% initial = 50k.
        assert_eq!(
            t.initial_margin(SignedQuote(1_000_000_000_000)),
            Ok(SignedQuote(50_000_000_000))
        );
        // 199 atoms at 0.5% is 0.995 atoms: rounded up to 1.
        assert_eq!(t.maintenance_margin(SignedQuote(199)), Ok(SignedQuote(1)));
        assert_eq!(t.maintenance_margin(SignedQuote(0)), Ok(SignedQuote(0)));
    }

    #[test]
    fn a_volatility_factor_scales_the_initial_rate_up_to_the_whole_notional() {
        let t = sample_tiers();
        // 1% of 10,000 USDC is 100; at 1.5× it is 150; at 200× it is capped at 100% = 10,000.
        let n = SignedQuote(10_000_000_000);
        assert_eq!(
            t.scaled_initial_margin(n, RatePpm(PPM)),
            t.initial_margin(n)
        );
        assert_eq!(
            t.scaled_initial_margin(n, RatePpm(1_500_000)),
            Ok(SignedQuote(150_000_000))
        );
        assert_eq!(t.scaled_initial_margin(n, RatePpm(200_000_000)), Ok(n));
    }

    #[test]
    fn invalid_tier_lists_are_rejected() {
        let ok = MarginTier {
            max_notional: 100,
            maintenance_rate: RatePpm(5_000),
            initial_rate: RatePpm(10_000),
        };
        assert!(MarginTiers::new(&[]).is_err());
        assert!(MarginTiers::new(&[ok; MAX_MARGIN_TIERS + 1]).is_err());
        let zero_mm = MarginTier {
            maintenance_rate: RatePpm(0),
            ..ok
        };
        assert!(MarginTiers::new(&[zero_mm]).is_err());
        let mm_not_below_im = MarginTier {
            maintenance_rate: RatePpm(10_000),
            ..ok
        };
        assert!(MarginTiers::new(&[mm_not_below_im]).is_err());
        let im_above_one = MarginTier {
            initial_rate: RatePpm(PPM + 1),
            ..ok
        };
        assert!(MarginTiers::new(&[im_above_one]).is_err());
        let unsorted = MarginTier {
            max_notional: 50,
            ..ok
        };
        assert!(MarginTiers::new(&[ok, unsorted]).is_err());
        let falling_rate = MarginTier {
            max_notional: 200,
            maintenance_rate: RatePpm(4_000),
            ..ok
        };
        assert!(MarginTiers::new(&[ok, falling_rate]).is_err());
        assert!(MarginTiers::new(&[ok]).is_ok());
    }
}
