use std::cell::RefMut;

use anchor_lang::{prelude::*, Discriminator};
use perps_engine::{
    adl::{ranking_place, AdlScore},
    PositionSide,
};

use crate::{error::PerpsError, events::AdlRankingCompleted, state::Market};

/// Positions one sweep keeps in its ranking: the best this many, in order (DESIGN.md §8).
pub const RANKING_CAPACITY: usize = 128;
/// No slot: the end of the free list.
pub const NO_SLOT: u32 = u32::MAX;

/// One place of a sweep's ranking: a position, its score at the snapshot price as an exact
/// fraction (little-endian `u128`s, kept as bytes so the account needs no 16-byte alignment), and
/// the lots it may still be deleveraged for (its size when ranked, less what ADL took since).
#[zero_copy]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RankedPosition {
    /// The Position account.
    pub position: Pubkey,
    /// The score's numerator at the snapshot price (the score is `score_num / score_den`).
    pub score_num: [u8; 16],
    /// The score's denominator.
    pub score_den: [u8; 16],
    /// Lots (base lots).
    pub lots: u64,
    /// Its registry slot.
    pub slot: u32,
    pub _padding: [u8; 4],
}

impl RankedPosition {
    pub fn score(&self) -> AdlScore {
        AdlScore {
            negative: false,
            num: u128::from_le_bytes(self.score_num),
            den: u128::from_le_bytes(self.score_den),
        }
    }
}

/// One place of the registry: the position registered there (`Pubkey::default()` when free),
/// the next free slot while free, and the last sweep that ranked this slot.
#[zero_copy]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegistrySlot {
    /// The Position account.
    pub position: Pubkey,
    pub next_free: u32,
    pub ranked_in_sweep: u32,
}

/// Every Position account of a market, enumerable on-chain so that an ADL sweep can prove it
/// ranked all of them (DESIGN.md §8). Zero-copy and client-created like the order book: this
/// header, then `capacity` `RegistrySlot`s filling the rest of the account. Slots are stable: a
/// position keeps its slot (stored in the Position) until it closes, and closed slots are reused
/// first, so a sweep's progress (each slot's `ranked_in_sweep`) stays true while positions come
/// and go.
#[account(zero_copy)]
#[derive(Debug)]
pub struct PositionRegistry {
    /// The market.
    pub market: Pubkey,
    /// Slots in the account, fixed when it was created.
    pub capacity: u32,
    /// Positions registered.
    pub count: u32,
    /// Slots ever used: every registered position is below it.
    pub high_water: u32,
    /// The first free slot below `high_water` (`NO_SLOT` when none).
    pub free_head: u32,
    /// The market's sweep (`Market::adl_sweep`) this ranking belongs to; 0 before any.
    pub sweep: u32,
    /// The slots this sweep must rank (`high_water` when it started), and how many it has.
    pub sweep_slots: u32,
    /// Slots of the sweep ranked so far.
    pub slots_ranked: u32,
    /// Entries in `ranking`, and the next one ADL fills.
    pub ranked_len: u32,
    /// The ranking entry ADL fills next.
    pub fill_cursor: u32,
    /// Every eligible position this sweep found, ranked or not, and their lots: the complete
    /// ranking's size, for ranks and ADL indicators.
    pub eligible_count: u32,
    /// Their lots.
    pub eligible_lots: u64,
    /// The oracle price the sweep scores at, and the side it ranks (`PositionSide` as 0 long, 1
    /// short).
    pub snapshot_price: u64,
    /// The side ranked: 0 long, 1 short (opposite the ADL book).
    pub candidate_side: u8,
    /// The account layout's version (`PositionRegistry::VERSION` when adopted).
    pub version: u8,
    pub _padding: [u8; 6],
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 64],
    /// The best eligible positions of the sweep, best first (`ranked_len` of them).
    pub ranking: [RankedPosition; RANKING_CAPACITY],
}

pub const REGISTRY_HEADER_SIZE: usize = 8 + std::mem::size_of::<PositionRegistry>();

/// The registry account's size for `capacity` positions.
pub fn registry_account_size(capacity: u32) -> usize {
    REGISTRY_HEADER_SIZE + capacity as usize * std::mem::size_of::<RegistrySlot>()
}

pub fn side_code(side: PositionSide) -> u8 {
    match side {
        PositionSide::Long => 0,
        PositionSide::Short => 1,
    }
}

pub fn side_from_code(code: u8) -> Result<PositionSide> {
    match code {
        0 => Ok(PositionSide::Long),
        1 => Ok(PositionSide::Short),
        _ => err!(PerpsError::InvalidRegistry),
    }
}

/// A loaded registry: its header and its slots.
pub struct Registry<'a> {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: RefMut<'a, PositionRegistry>,
    pub slots: RefMut<'a, [RegistrySlot]>,
}

impl<'a> Registry<'a> {
    /// Loads the registry account (its owner checked by the instruction's `AccountLoader`) for
    /// writing.
    pub fn load_mut(info: &'a AccountInfo<'_>) -> Result<Self> {
        let data = info.try_borrow_mut_data()?;
        require!(
            data.len() >= REGISTRY_HEADER_SIZE && data[..8] == *PositionRegistry::DISCRIMINATOR,
            PerpsError::InvalidRegistry
        );
        let (header, slots) = RefMut::map_split(data, |data| {
            let (header, slots) = data.split_at_mut(REGISTRY_HEADER_SIZE);
            let slot_bytes = slots.len() / std::mem::size_of::<RegistrySlot>()
                * std::mem::size_of::<RegistrySlot>();
            (
                bytemuck::from_bytes_mut::<PositionRegistry>(&mut header[8..]),
                bytemuck::cast_slice_mut::<u8, RegistrySlot>(&mut slots[..slot_bytes]),
            )
        });
        require_eq!(
            header.capacity as usize,
            slots.len(),
            PerpsError::InvalidRegistry
        );
        Ok(Self { header, slots })
    }
}

impl PositionRegistry {
    pub const VERSION: u8 = 1;

    /// Registers `position` in the first free slot (or the next unused one) and returns it.
    pub fn add(&mut self, slots: &mut [RegistrySlot], position: Pubkey) -> Result<u32> {
        let slot = if self.free_head != NO_SLOT {
            let slot = self.free_head;
            self.free_head = slots[slot as usize].next_free;
            slot
        } else {
            require!(self.high_water < self.capacity, PerpsError::RegistryFull);
            self.high_water += 1;
            self.high_water - 1
        };
        slots[slot as usize].position = position;
        slots[slot as usize].next_free = NO_SLOT;
        self.count += 1;
        Ok(slot)
    }

    /// Unregisters `position` from its `slot`, which joins the free list.
    pub fn remove(
        &mut self,
        slots: &mut [RegistrySlot],
        slot: u32,
        position: &Pubkey,
    ) -> Result<()> {
        let entry = slots
            .get_mut(slot as usize)
            .filter(|entry| entry.position == *position)
            .ok_or(PerpsError::WrongRegistrySlot)?;
        entry.position = Pubkey::default();
        entry.next_free = self.free_head;
        self.free_head = slot;
        self.count -= 1;
        Ok(())
    }

    /// Catches up with the market's sweep: a new sweep number resets the ranking and makes every
    /// slot registered now (below `high_water`) one to rank at the market's snapshot price.
    pub fn sync_sweep(&mut self, market: &Market) {
        if self.sweep == market.adl_sweep {
            return;
        }
        self.sweep = market.adl_sweep;
        self.sweep_slots = self.high_water;
        self.slots_ranked = 0;
        self.ranked_len = 0;
        self.fill_cursor = 0;
        self.eligible_count = 0;
        self.eligible_lots = 0;
        self.snapshot_price = market.adl_snapshot_price;
        self.candidate_side = market.adl_candidate_side;
    }

    /// Counts an eligible position and keeps it in the ranking if it is among the best
    /// `RANKING_CAPACITY`, at the place the engine's order gives it.
    pub fn rank(&mut self, position: Pubkey, score: &AdlScore, lots: u64, slot: u32) -> Result<()> {
        self.eligible_count += 1;
        self.eligible_lots = self
            .eligible_lots
            .checked_add(lots)
            .ok_or(PerpsError::MathOverflow)?;
        let len = self.ranked_len as usize;
        let ranking = &self.ranking;
        let Some(place) = ranking_place(
            len,
            RANKING_CAPACITY,
            |i| (ranking[i].score(), ranking[i].position.to_bytes()),
            score,
            &position.to_bytes(),
        ) else {
            return Ok(());
        };
        let len = (len + 1).min(RANKING_CAPACITY);
        self.ranking.copy_within(place..len - 1, place + 1);
        self.ranking[place] = RankedPosition {
            position,
            score_num: score.num.to_le_bytes(),
            score_den: score.den.to_le_bytes(),
            lots,
            slot,
            _padding: [0; 4],
        };
        self.ranked_len = len as u32;
        Ok(())
    }

    /// Registers a position opened while the market is in ADL: it holds nothing and may not add
    /// risk until the market leaves ADL, so the current sweep has nothing to rank in its slot,
    /// which counts as ranked (a ranking chunk read before it opened stays valid).
    pub fn add_during_adl(
        &mut self,
        slots: &mut [RegistrySlot],
        position: Pubkey,
        market: &Market,
    ) -> Result<u32> {
        self.sync_sweep(market);
        let slot = self.add(slots, position)?;
        let entry = &mut slots[slot as usize];
        if slot < self.sweep_slots && entry.ranked_in_sweep != self.sweep {
            entry.ranked_in_sweep = self.sweep;
            self.slots_ranked += 1;
        }
        Ok(slot)
    }

    /// The event of a sweep that has just ranked its last slot.
    pub fn ranking_completed(&self, market: Pubkey) -> AdlRankingCompleted {
        AdlRankingCompleted {
            market,
            sweep: self.sweep,
            eligible_count: self.eligible_count,
            eligible_lots: self.eligible_lots,
            ranked: self.ranked_len,
        }
    }

    /// Whether every slot of the current sweep is ranked.
    pub fn is_ranked(&self) -> bool {
        self.slots_ranked == self.sweep_slots
    }

    /// The ranking's entries still to fill.
    pub fn unfilled(&self) -> &[RankedPosition] {
        &self.ranking[self.fill_cursor as usize..self.ranked_len as usize]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytemuck::Zeroable;

    pub(crate) fn registry(capacity: u32) -> (Box<PositionRegistry>, Vec<RegistrySlot>) {
        let mut header: Box<PositionRegistry> = Box::new(Zeroable::zeroed());
        header.capacity = capacity;
        header.free_head = NO_SLOT;
        (header, vec![RegistrySlot::default(); capacity as usize])
    }

    #[test]
    fn positions_keep_their_slots_and_closed_slots_are_reused_first() {
        let (mut registry, mut slots) = registry(3);
        let keys: Vec<Pubkey> = (0..4).map(|_| Pubkey::new_unique()).collect();
        assert_eq!(registry.add(&mut slots, keys[0]).unwrap(), 0);
        assert_eq!(registry.add(&mut slots, keys[1]).unwrap(), 1);
        assert_eq!(registry.add(&mut slots, keys[2]).unwrap(), 2);
        assert_eq!(
            registry.add(&mut slots, keys[3]).unwrap_err(),
            PerpsError::RegistryFull.into()
        );
        // Removing needs the right slot.
        assert_eq!(
            registry.remove(&mut slots, 0, &keys[1]).unwrap_err(),
            PerpsError::WrongRegistrySlot.into()
        );
        registry.remove(&mut slots, 1, &keys[1]).unwrap();
        registry.remove(&mut slots, 0, &keys[0]).unwrap();
        assert_eq!((registry.count, registry.high_water), (1, 3));
        // Last freed, first reused; the others never move.
        assert_eq!(registry.add(&mut slots, keys[3]).unwrap(), 0);
        assert_eq!(registry.add(&mut slots, keys[0]).unwrap(), 1);
        assert_eq!(slots[2].position, keys[2]);
        assert_eq!(registry.count, 3);
    }
}

#[cfg(test)]
mod ranking_tests {
    use super::{tests::registry, *};

    #[test]
    fn a_position_opened_during_a_sweep_takes_a_slot_that_counts_as_ranked() {
        let mut market = crate::testing::market();
        market.adl_book.base_lots = 10;
        market
            .start_adl_sweep(Pubkey::new_unique(), perps_engine::Price(1))
            .unwrap();
        let (mut registry, mut slots) = registry(4);
        let keys: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        for key in &keys {
            registry.add(&mut slots, *key).unwrap();
        }
        registry.sync_sweep(&market);
        registry.remove(&mut slots, 1, &keys[1]).unwrap();
        // Reusing slot 1 inside the sweep: ranked already. Slot 3 lies beyond it.
        assert_eq!(
            registry
                .add_during_adl(&mut slots, keys[1], &market)
                .unwrap(),
            1
        );
        assert_eq!((slots[1].ranked_in_sweep, registry.slots_ranked), (1, 1));
        assert_eq!(
            registry
                .add_during_adl(&mut slots, Pubkey::new_unique(), &market)
                .unwrap(),
            3
        );
        assert_eq!((slots[3].ranked_in_sweep, registry.slots_ranked), (0, 1));
    }

    fn score(num: u128, den: u128) -> AdlScore {
        AdlScore {
            negative: false,
            num,
            den,
        }
    }

    #[test]
    fn the_ranking_keeps_the_best_in_order_and_counts_every_eligible_position() {
        let (mut registry, _) = registry(4);
        let keys: Vec<Pubkey> = (0..RANKING_CAPACITY + 2)
            .map(|_| Pubkey::new_unique())
            .collect();
        // Scores 1/1 .. n/1 arrive lowest first: the best RANKING_CAPACITY stay, best first.
        for (i, key) in keys.iter().enumerate() {
            registry
                .rank(*key, &score(i as u128 + 1, 1), 10, i as u32)
                .unwrap();
        }
        assert_eq!(registry.ranked_len as usize, RANKING_CAPACITY);
        assert_eq!(registry.eligible_count as usize, keys.len());
        assert_eq!(registry.eligible_lots, 10 * keys.len() as u64);
        assert_eq!(registry.ranking[0].position, keys[keys.len() - 1]);
        assert_eq!(
            registry.ranking[RANKING_CAPACITY - 1].position,
            keys[2],
            "the two lowest fell off"
        );
        assert_eq!(registry.ranking[0].score(), score(keys.len() as u128, 1));
    }
}

// The layout the README's account table and clients rely on.
const _: () = assert!(std::mem::size_of::<RegistrySlot>() == 40);
const _: () = assert!(std::mem::size_of::<RankedPosition>() == 80);
const _: () = assert!(REGISTRY_HEADER_SIZE == 10_408);
