use anchor_lang::prelude::*;
use perps_engine::{
    adl::{adl_score, sweep_eligibility, AdlEligibility},
    Price,
};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{AdlChunkRanked, AdlRankingCompleted, Emitter},
    state::{
        side_from_code, Exchange, Market, PositionAccounts, PositionRegistry, Registry,
        RegistrySlot, RemainingPositions, EXCHANGE_SEED,
    },
};

#[event_cpi]
#[derive(Accounts)]
pub struct RankAdlCandidates<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.position_registry @ PerpsError::WrongRegistry)]
    pub registry: AccountLoader<'info, PositionRegistry>,
    // remaining_accounts: the positions registered in the chunk's slots (read-only), in slot
    // order.
}

/// Permissionless (DESIGN.md §8): ranks the registry slots `first_slot .. first_slot +
/// slot_count` for the market's current ADL sweep. The accounts supplied must be exactly the
/// positions registered there, in slot order, so none can be left out; each eligible one (on the
/// side opposite the ADL book, profitable at the sweep's snapshot price, not liquidatable, able
/// to pay the haircut of at least one lot: `sweep_eligibility`) is scored there with the engine
/// and kept in the on-chain ranking if among the best. Chunks may
/// land in any order and overlap; a slot is ranked once per sweep. A position closed since the
/// caller read the registry may still be supplied (it is passed over). When the last slot is
/// ranked, `adl` may fill.
pub fn handler<'info>(
    ctx: Context<'info, RankAdlCandidates<'info>>,
    first_slot: u32,
    slot_count: u32,
) -> Result<()> {
    let market = ctx.accounts.market.load()?;
    let mut registry = Registry::load_mut(ctx.accounts.registry.as_ref())?;
    let Registry { header, slots } = &mut registry;
    let supplied: Vec<Pubkey> = ctx.remaining_accounts.iter().map(|a| *a.key).collect();
    let outcome = rank_action(
        &market,
        ctx.accounts.market.key(),
        header,
        slots,
        first_slot..first_slot.saturating_add(slot_count),
        &supplied,
        &mut RemainingPositions(ctx.remaining_accounts),
    )?;
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    emitter.emit(&outcome.chunk)?;
    crate::emit_present!(emitter; outcome.completed);
    emitter.flush()
}

/// Whether the supplied account at `key` is a closed position (its lamports and data gone).
fn is_closed(positions: &mut impl PositionAccounts, key: &Pubkey) -> Result<bool> {
    Ok(positions.read_position(key, |_| Ok(()))?.is_none())
}

/// What one ranking chunk did.
pub struct RankOutcome {
    pub chunk: AdlChunkRanked,
    /// Set when this chunk completed the sweep.
    pub completed: Option<AdlRankingCompleted>,
}

/// Ranks `chunk` (slots of `slots`) into `registry` for the market's sweep: every slot of the
/// chunk not yet ranked in this sweep is ranked now (those already ranked are passed over, with
/// their positions if supplied; a chunk with none left is refused with `SlotAlreadyRanked`), and
/// the keys `supplied` must be exactly the positions registered in the chunk's slots, in slot
/// order, but for positions closed since (`RankingChunkMismatch`); the chunk must lie inside the
/// sweep (`InvalidRankingChunk`).
/// Positions are read with funding settled as the program would settle it, without writing them.
pub fn rank_action(
    market: &Market,
    market_key: Pubkey,
    registry: &mut PositionRegistry,
    slots: &mut [RegistrySlot],
    chunk: std::ops::Range<u32>,
    supplied: &[Pubkey],
    positions: &mut impl PositionAccounts,
) -> Result<RankOutcome> {
    require!(market.is_adl_pending(), PerpsError::NoAdlPending);
    registry.sync_sweep(market);
    require!(!registry.is_ranked(), PerpsError::RankingComplete);
    require!(
        !chunk.is_empty() && chunk.end <= registry.sweep_slots,
        PerpsError::InvalidRankingChunk
    );
    let tiers = market.params.margin_tiers()?;
    let snapshot = Price(registry.snapshot_price);
    let book_side = side_from_code(registry.candidate_side)?.opposite();
    // What a fill would cost a candidate now: the book closing at its bankruptcy price, or the
    // snapshot price once solvent there.
    let (_, fill_price) = market
        .adl_book_fill_price(snapshot)?
        .ok_or(PerpsError::NoAdlPending)?;
    let mut supplied = supplied.iter().peekable();
    let (mut newly_ranked, mut found, mut eligible) = (0u32, 0u32, 0u32);
    for slot in chunk.clone() {
        let entry = &mut slots[slot as usize];
        if entry.ranked_in_sweep == registry.sweep {
            // Ranked already (by a racing keeper, or opened during ADL): its position may be
            // supplied by a caller that read the registry before, and is passed over.
            if entry.position != Pubkey::default() && supplied.peek() == Some(&&entry.position) {
                supplied.next();
            }
            continue;
        }
        entry.ranked_in_sweep = registry.sweep;
        newly_ranked += 1;
        if entry.position == Pubkey::default() {
            continue;
        }
        // A position that closed after the caller read the registry may still be supplied.
        while let Some(key) = supplied.next_if(|key| **key != entry.position) {
            require!(is_closed(positions, key)?, PerpsError::RankingChunkMismatch);
        }
        require!(
            supplied.next() == Some(&entry.position),
            PerpsError::RankingChunkMismatch
        );
        let state = positions
            .read_position(&entry.position, |position| {
                require_keys_eq!(position.market, market_key, PerpsError::WrongMarket);
                position.state_at(market.funding_index)
            })?
            .ok_or(PerpsError::RankingChunkMismatch)?;
        found += 1;
        if sweep_eligibility(&state, book_side, fill_price, snapshot, &tiers).map_engine_err()?
            == AdlEligibility::Eligible
        {
            let score = adl_score(&state, snapshot).map_engine_err()?;
            registry.rank(entry.position, &score, state.size.abs().0, slot)?;
            eligible += 1;
        }
    }
    // A chunk whose every slot was ranked already (by another keeper) has nothing to do.
    require!(newly_ranked > 0, PerpsError::SlotAlreadyRanked);
    for key in supplied {
        require!(is_closed(positions, key)?, PerpsError::RankingChunkMismatch);
    }
    registry.slots_ranked += newly_ranked;
    let completed = registry
        .is_ranked()
        .then(|| registry.ranking_completed(market_key));
    Ok(RankOutcome {
        chunk: AdlChunkRanked {
            market: market_key,
            sweep: registry.sweep,
            first_slot: chunk.start,
            slot_count: chunk.len() as u32,
            positions: found,
            eligible,
        },
        completed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        state::position_registry::tests::registry,
        testing::{self, Positions, USDC},
    };

    /// A market in ADL with a long book (at a snapshot of 59) and a registry of five positions:
    /// three profitable shorts (slots 0, 2, 4), a long (slot 1) and a free slot 3.
    struct Fixture {
        market: Box<Market>,
        registry: Box<PositionRegistry>,
        slots: Vec<RegistrySlot>,
        positions: Positions,
        keys: Vec<Pubkey>,
    }

    fn fixture() -> Fixture {
        let market_key = Pubkey::new_unique();
        let mut market = testing::market();
        market.adl_book.base_lots = 100;
        market
            .start_adl_sweep(market_key, Price(59 * USDC))
            .unwrap();
        let (mut registry, mut slots) = registry(8);
        let shorts = [
            testing::position(market_key, 100 * USDC as i64, -60, 61 * USDC as i64),
            testing::position(market_key, 50 * USDC as i64, -40, 60 * USDC as i64),
            testing::position(market_key, 500 * USDC as i64, -10, 60 * USDC as i64),
        ];
        let long = testing::position(market_key, 100 * USDC as i64, 10, 58 * USDC as i64);
        let keys: Vec<Pubkey> = (1..=5).map(|i| Pubkey::new_from_array([i; 32])).collect();
        for key in &keys {
            registry.add(&mut slots, *key).unwrap();
        }
        registry.remove(&mut slots, 3, &keys[3]).unwrap();
        let positions = Positions(vec![
            (keys[0], shorts[0]),
            (keys[1], long),
            (keys[2], shorts[1]),
            (keys[4], shorts[2]),
        ]);
        Fixture {
            market,
            registry,
            slots,
            positions,
            keys,
        }
    }

    impl Fixture {
        fn rank(
            &mut self,
            chunk: std::ops::Range<u32>,
            supplied: &[Pubkey],
        ) -> Result<RankOutcome> {
            rank_action(
                &self.market,
                self.positions.0[0].1.market,
                &mut self.registry,
                &mut self.slots,
                chunk,
                supplied,
                &mut self.positions,
            )
        }
    }

    #[test]
    fn chunks_in_any_order_rank_every_eligible_position_best_first() {
        let mut f = fixture();
        let k = f.keys.clone();
        let outcome = f.rank(3..5, &[k[4]]).unwrap();
        assert_eq!((outcome.chunk.positions, outcome.chunk.eligible), (1, 1));
        assert!(outcome.completed.is_none());
        let outcome = f.rank(0..3, &[k[0], k[1], k[2]]).unwrap();
        assert_eq!((outcome.chunk.positions, outcome.chunk.eligible), (3, 2));
        let completed = outcome.completed.unwrap();
        assert_eq!(
            (
                completed.eligible_count,
                completed.eligible_lots,
                completed.ranked
            ),
            (3, 110, 3)
        );
        // Scores at 59 (the engine's): 0.528 for slot 0, 0.437 for slot 2, and 0.0198 for the
        // well-collateralised slot 4.
        let order: Vec<Pubkey> = f.registry.unfilled().iter().map(|r| r.position).collect();
        assert_eq!(order, vec![k[0], k[2], k[4]]);
        assert_eq!(f.registry.ranking[0].lots, 60);
        assert!(f.registry.is_ranked());
        assert_eq!(
            f.rank(0..1, &[k[0]]).err().unwrap(),
            PerpsError::RankingComplete.into()
        );
    }

    #[test]
    fn a_chunk_that_leaves_out_reorders_or_adds_a_position_is_refused() {
        let k = fixture().keys;
        for supplied in [
            vec![k[0], k[2]],
            vec![k[1], k[0], k[2]],
            vec![k[0], k[1], k[2], k[4]],
            vec![k[0], k[1], k[4]],
        ] {
            let mut f = fixture();
            assert_eq!(
                f.rank(0..3, &supplied).err().unwrap(),
                PerpsError::RankingChunkMismatch.into()
            );
        }
        let mut f = fixture();
        f.rank(0..2, &[k[0], k[1]]).unwrap();
        // A chunk of ranked slots only, an empty one, and one beyond the sweep.
        assert_eq!(
            f.rank(1..2, &[k[1]]).err().unwrap(),
            PerpsError::SlotAlreadyRanked.into()
        );
        assert_eq!(
            f.rank(2..2, &[]).err().unwrap(),
            PerpsError::InvalidRankingChunk.into()
        );
        assert_eq!(
            f.rank(4..6, &[k[4]]).err().unwrap(),
            PerpsError::InvalidRankingChunk.into()
        );
    }

    #[test]
    fn an_overlapping_chunk_ranks_only_its_new_slots_and_a_closed_position_may_still_be_supplied() {
        let mut f = fixture();
        let k = f.keys.clone();
        f.rank(0..2, &[k[0], k[1]]).unwrap();
        // Slot 4's position closed after the keeper read the registry: still supplied, passed over;
        // slot 1 was ranked by another keeper: its position too.
        f.registry.remove(&mut f.slots, 4, &k[4]).unwrap();
        f.positions.0.retain(|(key, _)| *key != k[4]);
        let outcome = f.rank(1..5, &[k[1], k[2], k[4]]).unwrap();
        assert_eq!((outcome.chunk.positions, outcome.chunk.eligible), (1, 1));
        let completed = outcome.completed.unwrap();
        assert_eq!((completed.eligible_count, completed.ranked), (2, 2));
        // A live position that is not in the chunk's slots is never passed over.
        let mut f = fixture();
        assert_eq!(
            f.rank(0..1, &[k[2], k[0]]).err().unwrap(),
            PerpsError::RankingChunkMismatch.into()
        );
    }

    #[test]
    fn a_position_that_cannot_pay_one_lots_haircut_is_not_ranked_for_its_high_score() {
        // The book: 100 lots long from 60 with −130 USDC, bankrupt at 61.30. A one-lot short from
        // 60.60 with 0.61 USDC scores 0.705 at 59, above everyone, but closing one lot at 61.30
        // costs 2.30 and it holds 2.21: ranking it would stall every fill.
        let mut f = fixture();
        let k = f.keys.clone();
        f.market.adl_book.cost_basis = 100 * 60 * USDC as i64;
        f.market.adl_book.collateral = -130 * USDC as i64;
        let stuffer = &mut f.positions.0[3].1;
        *stuffer = testing::position(stuffer.market, 610_000, -1, 60_600_000);
        let outcome = f.rank(0..5, &[k[0], k[1], k[2], k[4]]).unwrap();
        assert_eq!(outcome.chunk.eligible, 2);
        let order: Vec<Pubkey> = f.registry.unfilled().iter().map(|r| r.position).collect();
        assert_eq!(order, vec![k[0], k[2]]);
    }

    #[test]
    fn a_new_sweep_forgets_the_old_ranking_and_a_market_out_of_adl_ranks_nothing() {
        let mut f = fixture();
        let k = f.keys.clone();
        f.rank(0..5, &[k[0], k[1], k[2], k[4]]).unwrap();
        f.market
            .start_adl_sweep(Pubkey::new_unique(), Price(59 * USDC))
            .unwrap();
        let outcome = f.rank(0..5, &[k[0], k[1], k[2], k[4]]).unwrap();
        assert_eq!(outcome.completed.unwrap().ranked, 3);
        f.market.adl_book.base_lots = 0;
        assert_eq!(
            f.rank(0..1, &[k[0]]).err().unwrap(),
            PerpsError::NoAdlPending.into()
        );
    }
}
