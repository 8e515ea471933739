//! What a keeper needs for ADL: the on-chain ranking and every position's place off-chain (the
//! same engine functions the program ranks with), the ADL indicator of each, and the next
//! transactions to send: ranking chunks, then fills down the ranking.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perps::state::{side_from_code, Market, Position};
use perps_engine::{
    adl::{
        adl_eligibility, adl_fill_lots, adl_fill_price, adl_indicator, adl_order, adl_score,
        AdlEligibility, AdlScore,
    },
    BaseLots, PositionSide, Price, SignedQuote,
};

use crate::{
    accounts::Registry,
    instructions::{self, MarketKeys},
};

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

/// The on-chain ranking of the market's current sweep, unfilled entries first in its order, each
/// with its rank in the complete ranking and its ADL indicator (the lots ranked through it against
/// every eligible lot the sweep found).
pub fn on_chain_ranking(registry: &Registry) -> Vec<RankedPosition> {
    let header = &registry.header;
    let Ok(side) = side_from_code(header.candidate_side) else {
        return Vec::new();
    };
    let mut through = 0;
    header.ranking[..header.ranked_len as usize]
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            through += entry.lots;
            RankedPosition {
                key: entry.position,
                side,
                lots: entry.lots,
                score: entry.score(),
                rank: i + 1,
                indicator: adl_indicator(through, header.eligible_lots),
                eligible: i >= header.fill_cursor as usize,
            }
        })
        .collect()
}

/// Registry slots one `rank_adl_candidates` transaction carries positions of: what fits in a
/// 1,232-byte legacy transaction with its fee payer and a compute-unit-price instruction
/// (measured by `capacity::positions_per_ranking_transaction`).
pub const RANK_POSITIONS_PER_TRANSACTION: usize = 28;

/// What a keeper sends next for a market in ADL (DESIGN.md §8).
#[derive(Debug, Clone, PartialEq)]
pub enum AdlStep {
    /// Not in ADL, or nothing to do until prices move (no eligible position to rank against).
    Wait,
    /// Ranking chunks covering every slot the sweep has not ranked: independent, in any order.
    Rank(Vec<Instruction>),
    /// `adl` steps down the ranking's unfilled entries, to be sent in order.
    Fill(Vec<Instruction>),
}

/// The next ADL step for `market`, given its `registry`, every position (`positions`), the
/// oracle and the insurance vault's balance: ranking chunks until the sweep has ranked every
/// slot, then `adl` instructions carrying the ranking's next entries, only as many as the
/// engine's `adl_fill_lots` says the book needs (skipped entries included: the program passes
/// over them in order). When the ranking is used up, one `adl` without accounts starts a new
/// sweep, if a position is eligible at the oracle now.
pub fn next_adl_step(
    keys: &MarketKeys,
    market: &Market,
    registry: &Registry,
    positions: &[(Pubkey, Position)],
    oracle: Price,
    insurance: u64,
) -> AdlStep {
    if !market.is_adl_pending() {
        return AdlStep::Wait;
    }
    let header = &registry.header;
    let synced = header.sweep == market.adl_sweep;
    if !synced || !header.is_ranked() {
        let (end, ranked_in) = if synced {
            (header.sweep_slots, header.sweep)
        } else {
            (header.high_water, market.adl_sweep)
        };
        return AdlStep::Rank(rank_chunks(keys, registry, end, ranked_in));
    }
    let unfilled = header.unfilled();
    if unfilled.is_empty() {
        let side = side_from_code(header.candidate_side).ok();
        let any_eligible = rank_positions(market, positions, oracle)
            .iter()
            .any(|r| Some(r.side) == side && r.eligible);
        return if any_eligible {
            AdlStep::Fill(vec![instructions::adl(keys, &[])])
        } else {
            AdlStep::Wait
        };
    }
    let chosen = entries_needed(market, registry, positions, oracle, insurance);
    AdlStep::Fill(
        chosen
            .chunks(ADL_CANDIDATES_PER_TRANSACTION)
            .map(|chunk| instructions::adl(keys, chunk))
            .collect(),
    )
}

/// Chunks over slots `0..end` not yet ranked in sweep `ranked_in`: contiguous runs, each with at
/// most `RANK_POSITIONS_PER_TRANSACTION` positions.
fn rank_chunks(
    keys: &MarketKeys,
    registry: &Registry,
    end: u32,
    ranked_in: u32,
) -> Vec<Instruction> {
    let mut chunks = Vec::new();
    let mut current: Option<(u32, Vec<Pubkey>)> = None;
    let mut close = |slot: u32, current: &mut Option<(u32, Vec<Pubkey>)>| {
        if let Some((first, keys_in)) = current.take() {
            chunks.push(instructions::rank_adl_candidates(
                keys,
                first,
                slot - first,
                &keys_in,
            ));
        }
    };
    for slot in 0..end {
        let entry = &registry.slots[slot as usize];
        if entry.ranked_in_sweep == ranked_in {
            close(slot, &mut current);
            continue;
        }
        if current.as_ref().is_some_and(|(_, k)| {
            k.len() == RANK_POSITIONS_PER_TRANSACTION && entry.position != Pubkey::default()
        }) {
            close(slot, &mut current);
        }
        let (_, in_chunk) = current.get_or_insert_with(|| (slot, Vec::new()));
        if entry.position != Pubkey::default() {
            in_chunk.push(entry.position);
        }
    }
    close(end, &mut current);
    chunks
}

/// The unfilled ranking entries an `adl` step will walk to close the book: the program's loop
/// played off-chain with the same engine functions.
fn entries_needed(
    market: &Market,
    registry: &Registry,
    positions: &[(Pubkey, Position)],
    oracle: Price,
    insurance: u64,
) -> Vec<Pubkey> {
    let header = &registry.header;
    let unfilled: Vec<Pubkey> = header.unfilled().iter().map(|e| e.position).collect();
    let (Ok(tiers), Ok(mut book), Ok(side)) = (
        market.params.margin_tiers(),
        market.adl_book.state_at(market.funding_index),
        side_from_code(header.candidate_side),
    ) else {
        return unfilled;
    };
    let Ok(equity) = book.equity(oracle) else {
        return unfilled;
    };
    let available = insurance.saturating_sub(market.params.insurance_floor) as i128;
    book.collateral = SignedQuote(book.collateral.0 + available.min((-equity.0).max(0)));
    let (Some(book_side), Ok(bankruptcy_price)) = (book.side(), book.signed_bankruptcy_price())
    else {
        return unfilled;
    };
    let fill_price = adl_fill_price(book_side, bankruptcy_price, oracle);
    let mut left = book.size.abs().0;
    let mut chosen = Vec::new();
    for entry in header.unfilled() {
        if left == 0 {
            break;
        }
        chosen.push(entry.position);
        let given = positions
            .iter()
            .find(|(k, _)| *k == entry.position)
            .and_then(|(_, p)| p.state_at(market.funding_index).ok())
            .and_then(|state| {
                adl_fill_lots(&state, side, fill_price, oracle, &tiers, entry.lots, left).ok()
            })
            .map_or(0, |lots: BaseLots| lots.0);
        left -= given;
    }
    chosen
}
