//! DESIGN.md §12's invariants as they hold here, over one market's accounts as read: pure
//! functions, each `Ok` or the `Breach` that names it with its figures. The integration tests
//! assert them after scenarios; the simulator checks them after every step; the adversarial
//! property test (`tests/tests/program/attack.rs`) after every transaction.
//!
//! Realized PnL moves into collateral at each fill, so §12.1 reads: the collateral vault holds
//! exactly the positions' total equity, `Σ (C − Q)` net of unsettled funding (price-independent,
//! since long lots equal short lots), plus the funding rounding not yet swept to insurance.
//!
//! Which hold after every transaction, and which once the keeper has run at the current price:
//! §12.1, §12.2 (both counting the market's ADL book as a position), the open-order totals
//! (§12.7), the registry listing every position (`registry_lists_every_position`), the book's
//! agreement with the market (`adl_book_matches_market`) and the two per-transaction checks
//! (§12.4 `no_position_pushed_below_maintenance`, §12.6 `insurance_pays_only_real_losses`) hold
//! after every transaction; `no_unbacked_loss` needs the keeper to have liquidated what a price
//! move or funding left behind, and `ranking_is_the_top_of_every_eligible_position` holds when a
//! sweep has just been ranked.

use std::collections::HashMap;
use std::fmt;

use anchor_lang::prelude::Pubkey;
use perps::state::{Market, Position, RANKING_CAPACITY};
use perps_client::accounts::Registry;
use perps_engine::{funding::FUNDING_INDEX_SCALE, Book, OrderSide, Price, RatePpm};

/// The market's positions and its ADL book, which holds lots and collateral like one.
fn with_book<'a>(
    market: &'a Market,
    positions: &'a [(Pubkey, Position)],
) -> impl Iterator<Item = &'a Position> {
    positions
        .iter()
        .map(|(_, p)| p)
        .chain(std::iter::once(&market.adl_book))
}

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

/// §12.1: vault = Σ (C − Q) − pending funding + unswept residue, exactly (in index-scaled atoms),
/// over the positions and the ADL book. In a Settled market, `settle_position` closes positions
/// one at a time at the settlement price `S`, so long and short lots differ until the last one
/// is closed: there each position counts at `S`, `Σ (C − Q + q·S)` (the same sum while they
/// balance).
pub fn vault_matches_positions(
    market: &Market,
    positions: &[(Pubkey, Position)],
    vault: u64,
) -> Result<(), Breach> {
    let settlement_price = if settled(market) {
        market.settlement_price as i128
    } else {
        0
    };
    let mut scaled_sum: i128 = market.funding_residue as i128;
    for p in with_book(market, positions) {
        let pending =
            p.base_lots as i128 * (market.funding_index - p.funding_index_snapshot) as i128;
        let equity =
            p.collateral as i128 - p.cost_basis as i128 + p.base_lots as i128 * settlement_price;
        scaled_sum += equity * FUNDING_INDEX_SCALE - pending;
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

fn settled(market: &Market) -> bool {
    market.status == perps::state::MarketStatus::Settled as u8
}

/// §12.2: open interest long = short = Σ long lots = Σ short lots, the ADL book's included. In a
/// Settled market each side only equals its positions' lots: `settle_position` closes one
/// position at a time against the settlement price, so the sides are equal again (at zero) once
/// every position is settled.
pub fn open_interest_balanced(
    market: &Market,
    positions: &[(Pubkey, Position)],
) -> Result<(), Breach> {
    let longs: u64 = with_book(market, positions)
        .map(|p| p.base_lots.max(0) as u64)
        .sum();
    let shorts: u64 = with_book(market, positions)
        .map(|p| p.base_lots.min(0).unsigned_abs())
        .sum();
    let recorded = (market.open_interest_long, market.open_interest_short);
    if recorded != (longs, shorts) || (longs != shorts && !settled(market)) {
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
/// or more. A bankruptcy the insurance vault cannot cover is taken into the market's ADL book at
/// once, so no position is left holding a loss; the book's own deficit is what ADL is closing.
pub fn no_unbacked_loss(
    market: &Market,
    positions: &[(Pubkey, Position)],
    price: Price,
) -> Result<(), Breach> {
    for (key, p) in positions {
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

/// §12.6, first half: the insurance vault paid `paid` atoms in one liquidation of `target`
/// (`position` as it was just before, in `market` as it was, judged at the oracle `price` the
/// liquidation ran at). The vault pays only a real loss: nothing to a position whose equity at
/// the oracle was zero or more, and never more than its negative equity.
pub fn insurance_pays_only_real_losses(
    market: &Market,
    target: &Pubkey,
    position: &Position,
    price: Price,
    paid: u64,
) -> Result<(), Breach> {
    let Some(equity) = equity_at(market, position, price) else {
        return breach(
            "12.6 insurance pays only real losses",
            format!("position {target}: equity overflows"),
        );
    };
    let loss = (-equity).max(0);
    if paid as i128 > loss {
        return breach(
            "12.6 insurance pays only real losses",
            format!(
                "the insurance vault paid {paid} atoms for position {target} ({} lots), whose equity at the oracle was {equity} atoms (a loss of {loss})",
                position.base_lots
            ),
        );
    }
    Ok(())
}

/// The ADL book is the market's own (DESIGN.md §8): it names the market as its market and
/// owner, never has resting orders, holds cost basis only with lots, and the market is in ADL
/// exactly while it holds lots, with a sweep ranking the other side.
pub fn adl_book_matches_market(market: &Market) -> Result<(), Breach> {
    const NAME: &str = "the ADL book is the market's";
    let book = &market.adl_book;
    let market_key = perps_client::pda::market(market.index);
    if book.market != market_key || book.owner != market_key {
        return breach(
            NAME,
            format!(
                "the book names market {} and owner {}, not {market_key}",
                book.market, book.owner
            ),
        );
    }
    if book.has_open_orders() || (book.base_lots == 0 && book.cost_basis != 0) {
        return breach(
            NAME,
            format!(
                "the book holds {} lots at cost {} with {} orders",
                book.base_lots, book.cost_basis, book.open_order_count
            ),
        );
    }
    if market.is_adl_pending() {
        let side = market.adl_book_side().expect("lots");
        if market.adl_sweep == 0
            || perps::state::side_from_code(market.adl_candidate_side).ok() != Some(side.opposite())
        {
            return breach(
                NAME,
                format!(
                    "the book is {side:?} but sweep {} ranks side {}",
                    market.adl_sweep, market.adl_candidate_side
                ),
            );
        }
    }
    Ok(())
}

/// Every position is enumerable on-chain (DESIGN.md §8): the registry lists each of `positions`
/// (the market's, every one that exists) exactly once, at the slot the position records, and
/// nothing else; its count, free list and high-water mark agree.
pub fn registry_lists_every_position(
    registry: &Registry,
    positions: &[(Pubkey, Position)],
) -> Result<(), Breach> {
    const NAME: &str = "the registry lists every position";
    let header = &registry.header;
    for (key, p) in positions {
        let listed = registry
            .slots
            .get(p.registry_slot as usize)
            .map(|s| s.position);
        if listed != Some(*key) {
            return breach(
                NAME,
                format!(
                    "position {key} records slot {}, which lists {listed:?}",
                    p.registry_slot
                ),
            );
        }
    }
    let listed: Vec<(u32, Pubkey)> = registry.positions().collect();
    let mut free = 0;
    let mut next = header.free_head;
    while next != perps::state::NO_SLOT && free <= header.capacity {
        free += 1;
        next = registry
            .slots
            .get(next as usize)
            .map_or(perps::state::NO_SLOT, |s| s.next_free);
    }
    if listed.len() != positions.len()
        || header.count as usize != positions.len()
        || header.count + free != header.high_water
    {
        return breach(
            NAME,
            format!(
                "{} positions exist, the registry lists {} and counts {} with {free} free of {} used slots",
                positions.len(),
                listed.len(),
                header.count,
                header.high_water
            ),
        );
    }
    Ok(())
}

/// A ranking no one chooses (DESIGN.md §8), checked when a sweep has just ranked every slot and
/// no position has changed since: the on-chain ranking is exactly the best `RANKING_CAPACITY` of
/// every eligible position, in the engine's order, at the sweep's snapshot price, and its totals
/// count every eligible position and lot.
pub fn ranking_is_the_top_of_every_eligible_position(
    market: &Market,
    registry: &Registry,
    positions: &[(Pubkey, Position)],
) -> Result<(), Breach> {
    const NAME: &str = "the ranking is the top of every eligible position";
    let header = &registry.header;
    if header.sweep != market.adl_sweep || !header.is_ranked() || header.fill_cursor != 0 {
        return Ok(());
    }
    let side = perps::state::side_from_code(header.candidate_side).ok();
    let expected: Vec<(Pubkey, u64)> =
        perps_client::adl::rank_positions(market, positions, Price(header.snapshot_price))
            .into_iter()
            .filter(|r| Some(r.side) == side && r.eligible)
            .map(|r| (r.key, r.lots))
            .collect();
    let on_chain: Vec<(Pubkey, u64)> = header.ranking[..header.ranked_len as usize]
        .iter()
        .map(|r| (r.position, r.lots))
        .collect();
    let top = &expected[..expected.len().min(RANKING_CAPACITY)];
    let lots: u64 = expected.iter().map(|e| e.1).sum();
    if on_chain != top
        || header.eligible_count as usize != expected.len()
        || header.eligible_lots != lots
    {
        return breach(
            NAME,
            format!(
                "sweep {} ranked {} of {} eligible ({} lots); the positions give {} eligible ({lots} lots), first differing place {:?}",
                header.sweep,
                on_chain.len(),
                header.eligible_count,
                header.eligible_lots,
                expected.len(),
                on_chain.iter().zip(top).position(|(a, b)| a != b)
            ),
        );
    }
    Ok(())
}

/// §12.7: each position's open-order totals (`open_bid_lots`, `open_ask_lots`,
/// `open_order_count`) are what `book` holds for it, and every resting order belongs to one of
/// `positions` (the market's) and holds at least one lot.
pub fn open_orders_match_book(positions: &[(Pubkey, Position)], book: &Book) -> Result<(), Breach> {
    const NAME: &str = "12.7 open-order totals = the book";
    // Per maker: bid lots, ask lots, orders.
    let mut held: HashMap<Pubkey, (u64, u64, u32)> = HashMap::new();
    for side in [OrderSide::Bid, OrderSide::Ask] {
        for order in book.side(side).orders() {
            let maker = Pubkey::new_from_array(order.maker);
            if order.lots == 0 {
                return breach(
                    NAME,
                    format!("order {} of {maker} rests with no lots", order.order_id),
                );
            }
            if !positions.iter().any(|(k, _)| *k == maker) {
                return breach(
                    NAME,
                    format!(
                        "order {} rests for {maker}, which is not a position of this market",
                        order.order_id
                    ),
                );
            }
            let entry = held.entry(maker).or_default();
            match side {
                OrderSide::Bid => entry.0 += order.lots,
                OrderSide::Ask => entry.1 += order.lots,
            }
            entry.2 += 1;
        }
    }
    for (key, p) in positions {
        let on_book = held.get(key).copied().unwrap_or_default();
        let recorded = (p.open_bid_lots, p.open_ask_lots, p.open_order_count);
        if recorded != on_book {
            return breach(
                NAME,
                format!(
                    "position {key} records bids {} / asks {} lots in {} orders; the book holds bids {} / asks {} in {}",
                    recorded.0, recorded.1, recorded.2, on_book.0, on_book.1, on_book.2
                ),
            );
        }
    }
    Ok(())
}

/// One market's accounts as read at one moment, with the oracle price (quote atoms per lot).
#[derive(Clone, Copy)]
pub struct MarketState<'a> {
    pub market: &'a Market,
    pub positions: &'a [(Pubkey, Position)],
    pub price: Price,
}

/// §12.4, per transaction: no position that was above maintenance margin before the
/// transaction is below it after, except through a price move, funding, or being the
/// transaction's own subject (`exempt`: the target of a liquidation, the bankrupt position of an
/// ADL step). When the oracle price differs between `before` and `after` there is nothing to
/// judge. Funding is taken out of the comparison by judging both states at the funding index
/// after the transaction: a crank that makes a position liquidatable makes it so "before" too.
pub fn no_position_pushed_below_maintenance(
    before: MarketState,
    after: MarketState,
    exempt: &[Pubkey],
) -> Result<(), Breach> {
    const NAME: &str = "12.4 no position pushed below maintenance";
    if before.price != after.price {
        return Ok(());
    }
    let price = after.price;
    let Ok(tiers) = after.market.params.margin_tiers() else {
        return breach(NAME, "the market's margin tiers are invalid".into());
    };
    let index = after.market.funding_index;
    let health = |p: &Position| {
        p.state_at(index)
            .ok()
            .and_then(|s| s.health(price, &tiers, RatePpm::ONE).ok())
    };
    for (key, now) in after.positions {
        if exempt.contains(key) {
            continue;
        }
        let Some((_, was)) = before.positions.iter().find(|(k, _)| k == key) else {
            continue;
        };
        let (Some(was_health), Some(now_health)) = (health(was), health(now)) else {
            return breach(NAME, format!("position {key}: health overflows"));
        };
        if !was_health.is_liquidatable() && now_health.is_liquidatable() {
            return breach(
                NAME,
                format!(
                    "position {key} went from equity {} / maintenance {} ({} lots) to equity {} / maintenance {} ({} lots) at an unchanged price {}",
                    was_health.equity.0,
                    was_health.maintenance.0,
                    was.base_lots,
                    now_health.equity.0,
                    now_health.maintenance.0,
                    now.base_lots,
                    price.0
                ),
            );
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
    fn a_settling_market_values_its_positions_at_the_settlement_price_one_side_at_a_time() {
        // Settled at 120: the long (bought 10 at 100) is settled, +200 realized; the short is not
        // yet. The vault still holds 1,000; the short counts at 120 (500 − (−1,000) − 1,200).
        let positions = [position(0, 0, 700), position(-10, -1_000, 500)];
        let mut m = market(0, 10);
        m.status = perps::state::MarketStatus::Settled as u8;
        m.settlement_price = 120;
        assert_eq!(vault_matches_positions(&m, &positions, 1_000), Ok(()));
        assert!(vault_matches_positions(&m, &positions, 999).is_err());
        assert_eq!(open_interest_balanced(&m, &positions), Ok(()));
        // Each side must still match its positions' lots.
        assert!(open_interest_balanced(&market(0, 9), &positions).is_err());
        // Outside a Settled market, lopsided open interest is a breach.
        m.status = perps::state::MarketStatus::Active as u8;
        assert!(open_interest_balanced(&m, &positions).is_err());
    }

    /// A market whose one margin tier asks 0.5% maintenance and 1% initial margin.
    fn tiered(long: u64, short: u64) -> Market {
        let mut m = market(long, short);
        m.params.margin_tiers[0] = perps::state::MarginTierParams {
            max_notional: u64::MAX,
            maintenance_rate_ppm: 5_000,
            initial_rate_ppm: 10_000,
        };
        m.params.margin_tier_count = 1;
        m
    }

    #[test]
    fn the_insurance_vault_may_pay_only_a_negative_equity_and_no_more() {
        // Long 10 lots bought for 1,000 atoms with 50: equity −50 at 90, 0 at 95.
        let m = tiered(10, 10);
        let (key, long) = position(10, 1_000, 50);
        let pays =
            |price, paid| insurance_pays_only_real_losses(&m, &key, &long, Price(price), paid);
        assert_eq!(pays(90, 50), Ok(()));
        assert_eq!(pays(90, 0), Ok(()));
        let breach = pays(90, 51).unwrap_err();
        assert!(breach.invariant.starts_with("12.6"), "{breach}");
        assert!(
            breach.detail.contains("equity at the oracle was -50"),
            "{breach}"
        );
        // Solvent at the oracle (zero equity, or a negative collateral backed by profit): the
        // vault owes nothing.
        assert_eq!(pays(95, 0), Ok(()));
        assert!(pays(95, 1).is_err());
        let (key, backed) = position(10, 1_000, -20);
        assert!(insurance_pays_only_real_losses(&m, &key, &backed, Price(110), 1).is_err());
        // Funding the position owes counts: 1 atom a lot makes the loss at 90 sixty.
        let mut m = m;
        m.funding_index = FUNDING_INDEX_SCALE as i64;
        let (key, long) = position(10, 1_000, 50);
        assert_eq!(
            insurance_pays_only_real_losses(&m, &key, &long, Price(90), 60),
            Ok(())
        );
        assert!(insurance_pays_only_real_losses(&m, &key, &long, Price(90), 61).is_err());
    }

    #[test]
    fn the_registry_must_list_each_position_once_at_its_slot() {
        use bytemuck::Zeroable;
        use perps::state::{PositionRegistry, RegistrySlot, NO_SLOT};
        let (a, mut pa) = position(1, 100, 50);
        let (b, mut pb) = position(-1, -100, 50);
        let mut header: Box<PositionRegistry> = Box::new(Zeroable::zeroed());
        header.capacity = 4;
        header.free_head = NO_SLOT;
        let mut slots = vec![RegistrySlot::default(); 4];
        pa.registry_slot = header.add(&mut slots, a).unwrap();
        pb.registry_slot = header.add(&mut slots, b).unwrap();
        let registry = Registry { header, slots };
        assert_eq!(
            registry_lists_every_position(&registry, &[(a, pa), (b, pb)]),
            Ok(())
        );
        // A position the registry does not list, or one at the wrong slot.
        let (c, pc) = position(1, 100, 50);
        assert!(registry_lists_every_position(&registry, &[(a, pa), (b, pb), (c, pc)]).is_err());
        pb.registry_slot = 0;
        assert!(registry_lists_every_position(&registry, &[(a, pa), (b, pb)]).is_err());
        // A listed position that no longer exists.
        let breach = registry_lists_every_position(&registry, &[(a, pa)]).unwrap_err();
        assert!(breach.detail.contains("1 positions exist"), "{breach}");
    }

    #[test]
    fn each_positions_open_order_totals_must_equal_what_the_book_holds_for_it() {
        let (a, mut pa) = position(0, 0, 500);
        let (b, pb) = position(0, 0, 500);
        let mut book = perps::testing::order_book(Pubkey::new_unique());
        let rest = |book: &mut perps::state::OrderBook, maker: &Pubkey, side, price, lots| {
            book.book
                .rest(
                    side,
                    maker.to_bytes(),
                    Price(price),
                    perps_engine::BaseLots(lots),
                    0,
                    false,
                )
                .unwrap();
        };
        rest(&mut book, &a, OrderSide::Bid, 99, 3);
        rest(&mut book, &a, OrderSide::Bid, 98, 2);
        rest(&mut book, &a, OrderSide::Ask, 101, 4);
        pa.open_bid_lots = 5;
        pa.open_ask_lots = 4;
        pa.open_order_count = 3;
        let positions = [(a, pa), (b, pb)];
        assert_eq!(open_orders_match_book(&positions, &book.book), Ok(()));
        // A total off by a lot, or by an order.
        let mut off = positions;
        off[0].1.open_ask_lots = 5;
        let breach = open_orders_match_book(&off, &book.book).unwrap_err();
        assert!(breach.invariant.starts_with("12.7"), "{breach}");
        let mut off = positions;
        off[0].1.open_order_count = 2;
        assert!(open_orders_match_book(&off, &book.book).is_err());
        // B records an order the book does not hold.
        let mut off = positions;
        off[1].1.open_order_count = 1;
        off[1].1.open_bid_lots = 1;
        assert!(open_orders_match_book(&off, &book.book).is_err());
        // An order of someone who holds no position here.
        rest(&mut book, &Pubkey::new_unique(), OrderSide::Ask, 102, 1);
        let breach = open_orders_match_book(&positions, &book.book).unwrap_err();
        assert!(
            breach.detail.contains("not a position of this market"),
            "{breach}"
        );
    }

    #[test]
    fn no_position_may_be_pushed_below_maintenance_but_by_a_price_move_funding_or_its_own_liquidation(
    ) {
        // Long 10 lots from 100 with 10 atoms: at 100 equity 10 ≥ maintenance 5.
        let m = tiered(10, 10);
        let (key, healthy) = position(10, 1_000, 10);
        let before = [(key, healthy)];
        let state = |market, positions, price| MarketState {
            market,
            positions,
            price: Price(price),
        };
        // Six atoms leave its collateral (a sale at a bad price, say): equity 4 < 5.
        let mut pushed = before;
        pushed[0].1.collateral = 4;
        let breach = no_position_pushed_below_maintenance(
            state(&m, &before, 100),
            state(&m, &pushed, 100),
            &[],
        )
        .unwrap_err();
        assert!(breach.invariant.starts_with("12.4"), "{breach}");
        assert!(
            breach.detail.contains("equity 4 / maintenance 5"),
            "{breach}"
        );
        // Unless it was the transaction's own liquidation target.
        assert_eq!(
            no_position_pushed_below_maintenance(
                state(&m, &before, 100),
                state(&m, &pushed, 100),
                &[key]
            ),
            Ok(())
        );
        // A price move is no breach: at 99 the position itself is below (equity 0 < 4.95).
        assert_eq!(
            no_position_pushed_below_maintenance(
                state(&m, &before, 100),
                state(&m, &before, 99),
                &[]
            ),
            Ok(())
        );
        // Funding is no breach either: the crank moved the index 0.6 atom a lot, so the long
        // owes 6, judged before and after alike.
        let mut cranked = m;
        cranked.funding_index = 600_000;
        assert_eq!(
            no_position_pushed_below_maintenance(
                state(&m, &before, 100),
                state(&cranked, &before, 100),
                &[]
            ),
            Ok(())
        );
        // One already below stays below: not this invariant's concern (the trade rule is).
        assert_eq!(
            no_position_pushed_below_maintenance(
                state(&m, &pushed, 100),
                state(&m, &pushed, 100),
                &[]
            ),
            Ok(())
        );
    }

    #[test]
    fn a_position_under_water_is_an_unbacked_loss_even_while_the_market_is_in_adl() {
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
        assert_eq!(no_unbacked_loss(&m, &positions, Price(95)), Ok(()));
        let breach = no_unbacked_loss(&m, &positions, Price(90)).unwrap_err();
        assert!(breach.detail.contains("equity -50"), "{breach}");
        // The book takes a bankruptcy over at once: a loss left on a position is never excused.
        m.adl_book.base_lots = 10;
        assert!(no_unbacked_loss(&m, &positions, Price(90)).is_err());
    }
}
