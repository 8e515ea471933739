//! What a keeper needs for ADL: the on-chain ranking and every position's place off-chain (the
//! same engine functions the program ranks with), the ADL indicator of each, and the next
//! transactions to send: ranking chunks, then fills down the ranking.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perps::state::{side_from_code, Market, Position};
use perps_engine::{
    adl::{
        adl_eligibility, adl_fill_lots, adl_fill_price, adl_indicator, adl_order, adl_score,
        sweep_eligibility, AdlEligibility, AdlScore,
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
pub const ADL_CANDIDATES_PER_TRANSACTION: usize = 21;

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
    /// Whether a sweep would rank it now: not liquidatable and, while the market is in ADL, able
    /// to pay the haircut of one lot at the book's fill price (`sweep_eligibility`).
    pub eligible: bool,
}

/// Ranks the profitable positions of `market` at `oracle`, per side, in the program's order, with
/// funding settled as the program would settle it. While the market is in ADL, the side opposite
/// its book is judged as a sweep judges it (`sweep_eligibility`, against the book's fill price at
/// `oracle`).
pub fn rank_positions(
    market: &Market,
    positions: &[(Pubkey, Position)],
    oracle: Price,
) -> Vec<RankedPosition> {
    let Ok(tiers) = market.params.margin_tiers() else {
        return Vec::new();
    };
    let book_fill = market.adl_book_fill_price(oracle).ok().flatten();
    let mut ranked = Vec::new();
    for side in [PositionSide::Long, PositionSide::Short] {
        let mut queue: Vec<(Pubkey, AdlScore, u64, bool)> = positions
            .iter()
            .filter_map(|(key, position)| {
                let state = position.state_at(market.funding_index).ok()?;
                let verdict = match book_fill {
                    Some((book_side, fill_price)) if book_side == side.opposite() => {
                        sweep_eligibility(&state, book_side, fill_price, oracle, &tiers).ok()?
                    }
                    _ => adl_eligibility(&state, side.opposite(), oracle, &tiers).ok()?,
                };
                // The queue is the side's profitable positions (DESIGN.md §8); those a sweep would
                // pass over keep their place but are not eligible.
                let healthy = match verdict {
                    AdlEligibility::Eligible => true,
                    AdlEligibility::Liquidatable | AdlEligibility::NoCapacity => false,
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

/// The ADL indicator of the position at `key` during the market's current sweep: read off the
/// on-chain ranking when the position is in it, else from its place in the complete ranking at
/// the sweep's snapshot price (the engine's order over `positions`, every position of the
/// market), against every eligible lot the sweep counted. `None` when it is not eligible.
pub fn sweep_indicator(
    market: &Market,
    registry: &Registry,
    positions: &[(Pubkey, Position)],
    key: &Pubkey,
) -> Option<u8> {
    if let Some(ranked) = on_chain_ranking(registry)
        .into_iter()
        .find(|r| r.key == *key)
    {
        return Some(ranked.indicator);
    }
    let header = &registry.header;
    let side = side_from_code(header.candidate_side).ok()?;
    let mut through = 0;
    for ranked in rank_positions(market, positions, Price(header.snapshot_price)) {
        if ranked.side != side || !ranked.eligible {
            continue;
        }
        through += ranked.lots;
        if ranked.key == *key {
            return Some(adl_indicator(through, header.eligible_lots.max(through)));
        }
    }
    None
}

/// Registry slots one `rank_adl_candidates` transaction carries positions of: what fits in a
/// 1,232-byte legacy transaction with its fee payer and a compute-unit-price instruction
/// (measured by `capacity::positions_per_ranking_transaction`).
pub const RANK_POSITIONS_PER_TRANSACTION: usize = 26;

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
    next_adl_step_sized(
        keys,
        market,
        registry,
        positions,
        oracle,
        insurance,
        ADL_CANDIDATES_PER_TRANSACTION,
    )
}

/// `next_adl_step` with `adl` steps of at most `candidates_per_transaction` entries: for a
/// sender whose transactions carry more than a legacy one (v0 with the market's lookup table).
pub fn next_adl_step_sized(
    keys: &MarketKeys,
    market: &Market,
    registry: &Registry,
    positions: &[(Pubkey, Position)],
    oracle: Price,
    insurance: u64,
    candidates_per_transaction: usize,
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
            .chunks(candidates_per_transaction.max(1))
            .map(|chunk| instructions::adl(keys, chunk))
            .collect(),
    )
}

/// The ranking entries an `adl` instruction carries (its accounts past the fixed ones), in order.
pub fn entries_in_step(step: &Instruction) -> Vec<Pubkey> {
    let fixed = instructions::adl(&MarketKeys::default(), &[])
        .accounts
        .len();
    step.accounts.iter().skip(fixed).map(|a| a.pubkey).collect()
}

/// The positions a `rank_adl_candidates` instruction carries (its accounts past the fixed ones).
pub fn positions_in_chunk(chunk: &Instruction) -> usize {
    let fixed = instructions::rank_adl_candidates(&MarketKeys::default(), 0, 0, &[]);
    chunk.accounts.len().saturating_sub(fixed.accounts.len())
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;
    use perps::state::{PositionRegistry, RegistrySlot, NO_SLOT};
    use perps::testing::{self, USDC};

    fn keys() -> MarketKeys {
        MarketKeys {
            program_id: perps::ID,
            market: Pubkey::new_unique(),
            order_book: Pubkey::new_unique(),
            registry: Pubkey::new_unique(),
            oracle: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
        }
    }

    fn registry(positions: &[Pubkey]) -> Registry {
        let mut header: Box<PositionRegistry> = Box::new(Zeroable::zeroed());
        header.capacity = positions.len() as u32 + 8;
        header.free_head = NO_SLOT;
        let mut slots = vec![RegistrySlot::default(); header.capacity as usize];
        for key in positions {
            header.add(&mut slots, *key).unwrap();
        }
        Registry { header, slots }
    }

    /// Slot ranges and positions of `rank_adl_candidates` instructions.
    fn chunks(instructions: &[Instruction]) -> Vec<(u32, u32, Vec<Pubkey>)> {
        instructions
            .iter()
            .map(|ix| {
                let first = u32::from_le_bytes(ix.data[8..12].try_into().unwrap());
                let count = u32::from_le_bytes(ix.data[12..16].try_into().unwrap());
                let fixed = instructions::rank_adl_candidates(&keys(), 0, 0, &[])
                    .accounts
                    .len();
                let positions = ix.accounts[fixed..].iter().map(|m| m.pubkey).collect();
                (first, count, positions)
            })
            .collect()
    }

    #[test]
    fn ranking_chunks_cover_every_unranked_slot_once_with_exactly_its_positions() {
        let positions: Vec<Pubkey> = (0..70).map(|_| Pubkey::new_unique()).collect();
        let mut registry = registry(&positions);
        // Slots 5 and 40 free; slots 10..20 ranked already in sweep 1.
        for slot in [5u32, 40] {
            let key = registry.slots[slot as usize].position;
            registry
                .header
                .remove(&mut registry.slots, slot, &key)
                .unwrap();
        }
        for slot in &mut registry.slots[10..20] {
            slot.ranked_in_sweep = 1;
        }
        let built = chunks(&rank_chunks(&keys(), &registry, 70, 1));
        let mut covered = Vec::new();
        for (first, count, keys_in) in &built {
            assert!(keys_in.len() <= RANK_POSITIONS_PER_TRANSACTION);
            let range = *first..first + count;
            let registered: Vec<Pubkey> = registry.slots[range.start as usize..range.end as usize]
                .iter()
                .map(|s| s.position)
                .filter(|p| *p != Pubkey::default())
                .collect();
            assert_eq!(&registered, keys_in);
            covered.extend(range);
        }
        let expected: Vec<u32> = (0..70).filter(|s| !(10..20).contains(s)).collect();
        assert_eq!(covered, expected);
    }

    #[test]
    fn the_next_step_ranks_until_the_sweep_is_complete_then_fills_only_as_far_as_needed() {
        // The program's worked ADL: a long book of 100 lots bankrupt at 59.30 against A (60 lots,
        // ranked first) and B (40 lots).
        let market_key = Pubkey::new_unique();
        let mut market = testing::market();
        market.adl_book =
            testing::position(market_key, 70 * USDC as i64 + 1, 100, 60 * USDC as i64);
        market.open_interest_long = 100;
        market.open_interest_short = 100;
        market
            .start_adl_sweep(market_key, Price(59 * USDC))
            .unwrap();
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let positions = vec![
            (
                b,
                testing::position(market_key, 50 * USDC as i64, -40, 60 * USDC as i64),
            ),
            (
                a,
                testing::position(market_key, 100 * USDC as i64, -60, 61 * USDC as i64),
            ),
        ];
        let mut registry = registry(&[b, a]);
        let keys = keys();
        let step = next_adl_step(&keys, &market, &registry, &positions, Price(59 * USDC), 0);
        let AdlStep::Rank(rank) = step else {
            panic!("{step:?}")
        };
        assert_eq!(chunks(&rank), vec![(0, 2, vec![b, a])]);
        // Ranked as the program ranks (A first).
        registry.header.sync_sweep(&market);
        for (slot, (key, position)) in positions.iter().enumerate() {
            let state = position.state();
            let score = adl_score(&state, Price(59 * USDC)).unwrap();
            registry
                .header
                .rank(*key, &score, state.size.abs().0, slot as u32)
                .unwrap();
            registry.slots[slot].ranked_in_sweep = registry.header.sweep;
        }
        registry.header.slots_ranked = 2;
        // A holds 60 of the 100 eligible lots at the top (3 lights), B the rest (1).
        let lights = |key| sweep_indicator(&market, &registry, &positions, &key);
        assert_eq!(
            (lights(a), lights(b), lights(Pubkey::new_unique())),
            (Some(3), Some(1), None)
        );
        let fill = |book_lots: i64| {
            let mut market = *market;
            market.adl_book.base_lots = book_lots;
            market.adl_book.cost_basis = book_lots * 60 * USDC as i64;
            market.adl_book.collateral = book_lots * 700_000;
            next_adl_step(&keys, &market, &registry, &positions, Price(59 * USDC), 0)
        };
        let accounts = |step: AdlStep| match step {
            AdlStep::Fill(steps) => steps
                .iter()
                .flat_map(|ix| {
                    ix.accounts[instructions::adl(&keys, &[]).accounts.len()..]
                        .iter()
                        .map(|m| m.pubkey)
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(accounts(fill(100)), vec![a, b]);
        assert_eq!(accounts(fill(60)), vec![a]);
        // Out of ADL: nothing to do.
        let mut calm = *market;
        calm.adl_book.base_lots = 0;
        assert_eq!(
            next_adl_step(&keys, &calm, &registry, &positions, Price(59 * USDC), 0),
            AdlStep::Wait
        );
    }
}
