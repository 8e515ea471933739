//! What a keeper needs for ADL: every position of a market ranked with the engine (the same
//! functions the program sorts by), the ADL indicator of each, and the transactions to send.

use anchor_lang::prelude::Pubkey;
use perps::state::{Market, Position};
use perps_engine::{
    adl::{
        adl_capacity, adl_eligibility, adl_indicator, adl_order, adl_score, AdlEligibility,
        AdlScore,
    },
    BaseLots, PositionSide, Price, SignedPrice, SignedQuote,
};

use crate::instructions::{self, MarketKeys};

/// Candidates one `adl` transaction carries: what fits in a 1,232-byte legacy transaction with
/// its fee payer and a compute-unit-price instruction (measured by
/// `capacity::adl_candidates_per_transaction`).
pub const ADL_CANDIDATES_PER_TRANSACTION: usize = 23;

/// One position in its side's deleveraging queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankedPosition {
    pub key: Pubkey,
    pub side: PositionSide,
    pub lots: u64,
    pub score: AdlScore,
    /// 1-based place in its side's queue (1 is deleveraged first).
    pub rank: usize,
    /// BitMEX-style lights, 5 for the top 20% of the side's size.
    pub indicator: u8,
    /// Whether the program would accept it as a candidate now: not liquidatable.
    pub eligible: bool,
}

/// Ranks the profitable positions of `market` at `oracle`, per side, in the program's order, with
/// funding settled as the program would settle it.
pub fn rank_positions(
    market: &Market,
    positions: &[(Pubkey, Position)],
    oracle: Price,
) -> Vec<RankedPosition> {
    let Ok(tiers) = market.params.margin_tiers() else {
        return Vec::new();
    };
    let mut ranked = Vec::new();
    for side in [PositionSide::Long, PositionSide::Short] {
        let mut queue: Vec<(Pubkey, AdlScore, u64, bool)> = positions
            .iter()
            .filter_map(|(key, position)| {
                let state = position.state_at(market.funding_index).ok()?;
                // The queue is the side's profitable positions (DESIGN.md §8); those the program
                // would refuse as liquidatable keep their place but are not eligible.
                let healthy = match adl_eligibility(&state, side.opposite(), oracle, &tiers).ok()? {
                    AdlEligibility::Eligible => true,
                    AdlEligibility::Liquidatable => false,
                    AdlEligibility::NotOtherSide | AdlEligibility::NotProfitable => return None,
                };
                let score = adl_score(&state, oracle).ok()?;
                Some((*key, score, state.size.abs().0, healthy))
            })
            .collect();
        queue.sort_by(|a, b| adl_order((&a.1, &a.0.to_bytes()), (&b.1, &b.0.to_bytes())));
        let total: u64 = queue.iter().map(|q| q.2).sum();
        let mut through = 0;
        for (i, (key, score, lots, eligible)) in queue.into_iter().enumerate() {
            through += lots;
            ranked.push(RankedPosition {
                key,
                side,
                lots,
                score,
                rank: i + 1,
                indicator: adl_indicator(through, total),
                eligible,
            });
        }
    }
    ranked
}

/// The `adl` instructions a keeper sends for the market's pending bankrupt position, given the
/// insurance vault's balance `insurance`: one with no candidate when it is solvent again at
/// `oracle` or the vault covers what it lacks (it leaves the queue); otherwise the
/// eligible positions of the other side in rank order, only as many as the engine's plan needs
/// (each can close up to what keeps its equity non-negative), `ADL_CANDIDATES_PER_TRANSACTION`
/// to an instruction.
pub fn adl_instructions(
    keys: &MarketKeys,
    market: &Market,
    positions: &[(Pubkey, Position)],
    oracle: Price,
    insurance: u64,
) -> Vec<anchor_lang::solana_program::instruction::Instruction> {
    if market.adl_pending == 0 {
        return Vec::new();
    }
    let Some(bankrupt) = positions.iter().find(|(k, _)| *k == market.adl_position) else {
        return Vec::new();
    };
    let Ok(mut bankrupt_state) = bankrupt.1.state_at(market.funding_index) else {
        return Vec::new();
    };
    let Ok(equity) = bankrupt_state.equity(oracle) else {
        return Vec::new();
    };
    // The program pays in what the vault holds above its floor before it haircuts anyone.
    let available = insurance.saturating_sub(market.params.insurance_floor) as i128;
    let top_up = available.min((-equity.0).max(0));
    bankrupt_state.collateral = SignedQuote(bankrupt_state.collateral.0 + top_up);
    // Solvent again at the oracle, or covered by the vault: one `adl` with no candidate takes it
    // out of the queue (giving the vault its subsidy back, or drawing on it).
    if equity.0 + top_up >= 0 {
        return vec![instructions::adl(keys, &market.adl_position, &[])];
    }
    let Some(bankrupt_side) = bankrupt_state.side() else {
        return Vec::new();
    };
    let Ok(tiers) = market.params.margin_tiers() else {
        return Vec::new();
    };
    // Negative for a short that lost more than it sold for: ADL closes it there too.
    let bankruptcy_price = bankrupt_state
        .signed_bankruptcy_price()
        .unwrap_or(SignedPrice(market.adl_bankruptcy_price as i128));
    let mut left = market.adl_lots;
    let mut chosen = Vec::new();
    for candidate in rank_positions(market, positions, oracle)
        .into_iter()
        .filter(|r| r.side != bankrupt_side && r.eligible)
    {
        if left == 0 {
            break;
        }
        let Some((_, position)) = positions.iter().find(|(k, _)| *k == candidate.key) else {
            continue;
        };
        let capacity = position
            .state_at(market.funding_index)
            .ok()
            .and_then(|s| adl_capacity(&s, bankruptcy_price, oracle, &tiers).ok())
            .map_or(0, |c: BaseLots| c.0);
        if capacity > 0 {
            left = left.saturating_sub(capacity);
            chosen.push(candidate.key);
        }
    }
    chosen
        .chunks(ADL_CANDIDATES_PER_TRANSACTION)
        .map(|chunk| instructions::adl(keys, &market.adl_position, chunk))
        .collect()
}
