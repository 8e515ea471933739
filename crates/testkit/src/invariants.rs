//! DESIGN.md §12.1 and §12.2 as they hold here, and the solvency check built on them, over one
//! market's accounts as read. The integration tests assert them after scenarios; the simulator
//! checks them after every step.
//!
//! Realized PnL moves into collateral at each fill, so §12.1 reads: the collateral vault holds
//! exactly the positions' total equity, `Σ (C − Q)` net of unsettled funding (price-independent,
//! since long lots equal short lots), plus the funding rounding not yet swept to insurance.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use perps::state::{Market, Position};
use perps_engine::{funding::FUNDING_INDEX_SCALE, Price};

/// A broken invariant: which one, and the figures that break it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub invariant: &'static str,
    pub detail: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

fn breach(invariant: &'static str, detail: String) -> Result<(), Breach> {
    Err(Breach { invariant, detail })
}

/// §12.1: vault = Σ (C − Q) − pending funding + unswept residue, exactly (in index-scaled atoms).
pub fn vault_matches_positions(
    market: &Market,
    positions: &[(Pubkey, Position)],
    vault: u64,
) -> Result<(), Breach> {
    let mut scaled_sum: i128 = market.funding_residue as i128;
    for (_, p) in positions {
        let pending =
            p.base_lots as i128 * (market.funding_index - p.funding_index_snapshot) as i128;
        scaled_sum += (p.collateral as i128 - p.cost_basis as i128) * FUNDING_INDEX_SCALE - pending;
    }
    let scaled_vault = vault as i128 * FUNDING_INDEX_SCALE;
    if scaled_vault != scaled_sum {
        return breach(
            "12.1 collateral vault = total position equity",
            format!(
                "vault holds {vault} atoms, positions account for {} (x{FUNDING_INDEX_SCALE}: {scaled_vault} vs {scaled_sum})",
                scaled_sum / FUNDING_INDEX_SCALE
            ),
        );
    }
    Ok(())
}

/// §12.2: open interest long = short = Σ long lots = Σ short lots.
pub fn open_interest_balanced(
    market: &Market,
    positions: &[(Pubkey, Position)],
) -> Result<(), Breach> {
    let longs: u64 = positions
        .iter()
        .map(|(_, p)| p.base_lots.max(0) as u64)
        .sum();
    let shorts: u64 = positions
        .iter()
        .map(|(_, p)| p.base_lots.min(0).unsigned_abs())
        .sum();
    let recorded = (market.open_interest_long, market.open_interest_short);
    if recorded != (longs, shorts) || longs != shorts {
        return breach(
            "12.2 open interest balanced",
            format!(
                "market records long {} / short {}, positions hold long {longs} / short {shorts}",
                recorded.0, recorded.1
            ),
        );
    }
    Ok(())
}

/// Equity of a position at a price with its funding settled (the client's, which sizes orders
/// by it).
pub use perps_client::sizing::equity_at;

/// No loss without a payer: once the keeper has run at `price`, every position's equity is zero
/// or more, but for the bankruptcy in the ADL queue and those the program holds back behind it
/// (deficits beyond what the insurance vault, holding `insurance` atoms, can pay: the queue takes
/// one at a time). Any other negative equity is a loss the vault owes winners with no one to
/// pay it.
pub fn no_unbacked_loss(
    market: &Market,
    positions: &[(Pubkey, Position)],
    price: Price,
    insurance: u64,
) -> Result<(), Breach> {
    for (key, p) in positions {
        let queued = market.adl_pending != 0 && *key == market.adl_position;
        if queued || perps_client::liquidation::waits_for_adl(market, p, price, insurance) {
            continue;
        }
        match equity_at(market, p, price) {
            Some(equity) if equity >= 0 => {}
            Some(equity) => {
                return breach(
                    "no unbacked loss",
                    format!(
                    "position {key} holds {} lots at equity {equity} atoms after the keeper ran",
                    p.base_lots
                ),
                )
            }
            None => {
                return breach(
                    "no unbacked loss",
                    format!("position {key}: equity overflows"),
                )
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn position(lots: i64, cost_basis: i64, collateral: i64) -> (Pubkey, Position) {
        let mut p = Position::zeroed();
        p.base_lots = lots;
        p.cost_basis = cost_basis;
        p.collateral = collateral;
        (Pubkey::new_unique(), p)
    }

    fn market(long: u64, short: u64) -> Market {
        let mut m = Market::zeroed();
        m.open_interest_long = long;
        m.open_interest_short = short;
        m
    }

    #[test]
    fn the_vault_must_hold_exactly_the_positions_equity_net_of_pending_funding() {
        // A long of 10 lots bought at 100 and a short of 10 sold at 100, 500 atoms each.
        let mut positions = vec![position(10, 1_000, 500), position(-10, -1_000, 500)];
        let mut m = market(10, 10);
        assert_eq!(vault_matches_positions(&m, &positions, 1_000), Ok(()));
        let breach = vault_matches_positions(&m, &positions, 1_001).unwrap_err();
        assert!(breach.invariant.starts_with("12.1"), "{breach}");
        // The index moved 3 atoms per lot: the long owes 30, the short is owed 30, the vault
        // is unchanged until they settle; an unswept residue of one atom is the vault's.
        m.funding_index = 3 * FUNDING_INDEX_SCALE as i64;
        assert_eq!(vault_matches_positions(&m, &positions, 1_000), Ok(()));
        // Settling one side moves its funding into collateral: the sum is unchanged.
        positions[0].1.collateral -= 30;
        positions[0].1.funding_index_snapshot = m.funding_index;
        assert_eq!(vault_matches_positions(&m, &positions, 1_000), Ok(()));
        // Collateral that appears without funding behind it is caught.
        positions[0].1.collateral += 1;
        assert!(vault_matches_positions(&m, &positions, 1_000).is_err());
        positions[0].1.collateral -= 1;
        positions[1].1.collateral += 30;
        positions[1].1.funding_index_snapshot = m.funding_index;
        assert_eq!(vault_matches_positions(&m, &positions, 1_000), Ok(()));
        m.funding_residue = FUNDING_INDEX_SCALE as i64;
        assert_eq!(vault_matches_positions(&m, &positions, 1_001), Ok(()));
    }

    #[test]
    fn open_interest_must_match_the_positions_on_both_sides() {
        let positions = [position(10, 1_000, 500), position(-10, -1_000, 500)];
        assert_eq!(open_interest_balanced(&market(10, 10), &positions), Ok(()));
        assert!(open_interest_balanced(&market(10, 9), &positions).is_err());
        let lopsided = [position(10, 1_000, 500), position(-9, -900, 500)];
        assert!(open_interest_balanced(&market(10, 9), &lopsided).is_err());
    }

    #[test]
    fn a_position_under_water_is_an_unbacked_loss_unless_it_waits_in_the_adl_queue() {
        // Long 10 lots at 100 with 50 atoms: at 90 its equity is 50 - 100 = -50.
        let (key, long) = position(10, 1_000, 50);
        let positions = [(key, long), position(-10, -1_000, 500)];
        let mut m = market(10, 10);
        m.params.margin_tiers[0] = perps::state::MarginTierParams {
            max_notional: u64::MAX,
            maintenance_rate_ppm: 5_000,
            initial_rate_ppm: 10_000,
        };
        m.params.margin_tier_count = 1;
        assert_eq!(no_unbacked_loss(&m, &positions, Price(95), 0), Ok(()));
        let breach = no_unbacked_loss(&m, &positions, Price(90), 0).unwrap_err();
        assert!(breach.detail.contains("equity -50"), "{breach}");
        // Another bankruptcy holds the queue and the vault cannot pay 50: it waits its turn.
        m.adl_pending = 1;
        assert_eq!(no_unbacked_loss(&m, &positions, Price(90), 0), Ok(()));
        // A vault that can pay it means the program would liquidate it: no excuse.
        let breach = no_unbacked_loss(&m, &positions, Price(90), 1_000).unwrap_err();
        assert!(breach.detail.contains("equity -50"), "{breach}");
        // The queued position itself is the one ADL closes.
        m.adl_position = key;
        assert_eq!(no_unbacked_loss(&m, &positions, Price(90), 1_000), Ok(()));
    }
}
