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
//! §12.1, §12.2, the open-order totals (§12.7), the ADL fields' agreement with the queued
//! position (`adl_queue_matches_market`) and the two per-transaction checks (§12.4
//! `no_position_pushed_below_maintenance`, §12.6 `insurance_pays_only_real_losses`) hold after
//! every transaction; `no_unbacked_loss` and `adl_queue_holds_a_real_loss` need the keeper to
//! have liquidated and cleared what a price move, a deposit or funding left behind.

use std::collections::HashMap;
use std::fmt;

use anchor_lang::prelude::Pubkey;
use perps::state::{Market, Position};
use perps_engine::{funding::FUNDING_INDEX_SCALE, Book, OrderSide, Price, RatePpm};

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

/// The market's ADL fields describe its queue (DESIGN.md §8 as built), after any transaction:
/// while `adl_pending`, `adl_position` is one of `positions` (the market's), holding a side of
/// exactly `adl_lots` lots; otherwise no contribution of the vault is recorded.
pub fn adl_queue_matches_market(
    market: &Market,
    positions: &[(Pubkey, Position)],
) -> Result<(), Breach> {
    const NAME: &str = "ADL fields match the queued position";
    if market.adl_pending == 0 {
        if market.adl_subsidy != 0 {
            return breach(
                NAME,
                format!(
                    "no ADL pending, but the market records {} atoms paid in by the vault",
                    market.adl_subsidy
                ),
            );
        }
        return Ok(());
    }
    let key = market.adl_position;
    let Some((_, queued)) = positions.iter().find(|(k, _)| *k == key) else {
        return breach(
            NAME,
            format!("the queued position {key} is not a position of this market"),
        );
    };
    let market_key = perps_client::pda::market(market.index);
    if queued.market != market_key {
        return breach(
            NAME,
            format!(
                "the queued position {key} belongs to market {}, not {market_key}",
                queued.market
            ),
        );
    }
    if queued.base_lots == 0 || queued.base_lots.unsigned_abs() != market.adl_lots {
        return breach(
            NAME,
            format!(
                "the market queues {} lots of {key}, which holds {}",
                market.adl_lots, queued.base_lots
            ),
        );
    }
    Ok(())
}

/// §12.6, second half, once the keeper has run at `price`: the ADL queue holds only a loss that
/// is real, a position whose equity at the oracle is negative, and what the vault put into it
/// (`adl_subsidy`) is no more than it needs: its loss without that contribution,
/// `paid − E`. (A position that a price move, funding or a deposit made solvent leaves the
/// queue at the keeper's next `adl`, giving the contribution back.) Includes
/// `adl_queue_matches_market`.
pub fn adl_queue_holds_a_real_loss(
    market: &Market,
    positions: &[(Pubkey, Position)],
    price: Price,
) -> Result<(), Breach> {
    adl_queue_matches_market(market, positions)?;
    if market.adl_pending == 0 {
        return Ok(());
    }
    let key = market.adl_position;
    let (_, queued) = positions
        .iter()
        .find(|(k, _)| *k == key)
        .expect("checked above");
    let Some(equity) = equity_at(market, queued, price) else {
        return breach(
            "12.6 the ADL queue holds a real loss",
            format!("queued position {key}: equity overflows"),
        );
    };
    let paid = market.adl_subsidy as i128;
    if equity >= 0 {
        return breach(
            "12.6 the ADL queue holds a real loss",
            format!(
                "queued position {key} ({} lots) has equity {equity} atoms at the oracle after the keeper ran: no loss left for ADL (the vault put in {paid}; without it the loss is {})",
                queued.base_lots,
                paid - equity
            ),
        );
    }
    Ok(())
}

/// §12.6, the vault's side of a queue exit (DESIGN.md §7 as built): when a transaction takes
/// the queued position out of the ADL queue without closing any of it, either a price move,
/// funding or a deposit made it solvent, and what others put in comes back up to its equity (the
/// insurance vault gains exactly `min(adl_subsidy, E)`, `E` at the oracle, funding settled, as
/// the position stood before); or the vault covered what it lacked, and paid exactly `−E`. `insurance` is the vault's balance before and after.
pub fn queue_exit_returns_the_vaults_contribution(
    before: MarketState,
    after: MarketState,
    insurance: (u64, u64),
) -> Result<(), Breach> {
    const NAME: &str = "12.6 a queue exit gives the vault its contribution back";
    if before.market.adl_pending == 0 || after.market.adl_pending != 0 {
        return Ok(());
    }
    let key = before.market.adl_position;
    let lots = |positions: &[(Pubkey, Position)]| {
        positions
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p.base_lots)
    };
    let Some(held) = lots(before.positions) else {
        return breach(NAME, format!("the queued position {key} did not exist"));
    };
    if lots(after.positions) != Some(held) {
        // Closed by ADL: its dust goes to insurance, nothing to give back.
        return Ok(());
    }
    let (_, queued) = before
        .positions
        .iter()
        .find(|(k, _)| *k == key)
        .expect("found above");
    let Some(equity) = equity_at(before.market, queued, after.price) else {
        return breach(NAME, format!("queued position {key}: equity overflows"));
    };
    // Solvent: the subsidy comes back, up to the equity. Still insolvent: the vault covered
    // it and paid exactly what it lacked.
    let owed = if equity >= 0 {
        (before.market.adl_subsidy as i128).min(equity)
    } else {
        equity
    };
    let returned = insurance.1 as i128 - insurance.0 as i128;
    if returned != owed {
        return breach(
            NAME,
            format!(
                "position {key} left the queue with equity {equity} atoms; the vault had put in {}, so {owed} should have come back, and {returned} did",
                before.market.adl_subsidy
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

    /// A market queueing `queued` (its address `key`) for ADL, with `paid` from the vault.
    fn queued_market(key: Pubkey, lots: u64, paid: u64) -> Market {
        let mut m = tiered(10, 10);
        m.adl_pending = 1;
        m.adl_position = key;
        m.adl_lots = lots;
        m.adl_subsidy = paid;
        m
    }

    fn of_market(entry: (Pubkey, Position)) -> (Pubkey, Position) {
        let (key, mut p) = entry;
        p.market = perps_client::pda::market(0);
        (key, p)
    }

    #[test]
    fn the_adl_fields_must_name_a_position_of_the_market_with_its_lots() {
        let (key, long) = of_market(position(10, 1_000, 50));
        let positions = [(key, long), of_market(position(-10, -1_000, 500))];
        assert_eq!(
            adl_queue_matches_market(&queued_market(key, 10, 5), &positions),
            Ok(())
        );
        // Lots that differ from the position's, a position not in the market, another market's.
        assert!(adl_queue_matches_market(&queued_market(key, 9, 5), &positions).is_err());
        let stranger = Pubkey::new_unique();
        let breach =
            adl_queue_matches_market(&queued_market(stranger, 10, 5), &positions).unwrap_err();
        assert!(
            breach.detail.contains("not a position of this market"),
            "{breach}"
        );
        let mut elsewhere = positions;
        elsewhere[0].1.market = Pubkey::new_unique();
        assert!(adl_queue_matches_market(&queued_market(key, 10, 5), &elsewhere).is_err());
        // Out of ADL, no contribution of the vault may stay recorded.
        let mut m = queued_market(key, 10, 5);
        m.adl_pending = 0;
        assert!(adl_queue_matches_market(&m, &positions).is_err());
        m.adl_subsidy = 0;
        assert_eq!(adl_queue_matches_market(&m, &positions), Ok(()));
    }

    #[test]
    fn the_adl_queue_may_hold_only_a_position_insolvent_at_the_oracle() {
        // Long 10 from 100 with 50, of which the vault put in 5: equity −50 at 90.
        let (key, long) = of_market(position(10, 1_000, 50));
        let positions = [(key, long), of_market(position(-10, -1_000, 500))];
        let m = queued_market(key, 10, 5);
        assert_eq!(
            adl_queue_holds_a_real_loss(&m, &positions, Price(90)),
            Ok(())
        );
        assert_eq!(
            adl_queue_holds_a_real_loss(&m, &positions, Price(94)),
            Ok(())
        );
        // At 95 its equity is zero: nothing is left for ADL to cover, the keeper clears it.
        let breach = adl_queue_holds_a_real_loss(&m, &positions, Price(95)).unwrap_err();
        assert!(breach.detail.contains("equity 0 atoms"), "{breach}");
        assert!(adl_queue_holds_a_real_loss(&m, &positions, Price(120)).is_err());
        // The structural check comes with it.
        let wrong_lots = queued_market(key, 3, 5);
        assert!(adl_queue_holds_a_real_loss(&wrong_lots, &positions, Price(90)).is_err());
        // Nothing queued, nothing to judge.
        assert_eq!(
            adl_queue_holds_a_real_loss(&tiered(10, 10), &positions, Price(120)),
            Ok(())
        );
    }

    #[test]
    fn a_queued_position_that_leaves_unclosed_gives_back_the_vaults_contribution_up_to_its_equity()
    {
        // Long 10 from 100 with 50 atoms, 20 of them from the vault: at 100 its equity is 50.
        let (key, long) = of_market(position(10, 1_000, 50));
        let queued = queued_market(key, 10, 20);
        let mut cleared = queued;
        cleared.adl_pending = 0;
        cleared.adl_subsidy = 0;
        let positions = [(key, long)];
        let state = |market, positions, price| MarketState {
            market,
            positions,
            price: Price(price),
        };
        let exit = |price, insurance| {
            queue_exit_returns_the_vaults_contribution(
                state(&queued, &positions, price),
                state(&cleared, &positions, price),
                insurance,
            )
        };
        assert_eq!(exit(100, (500, 520)), Ok(()));
        let breach = exit(100, (500, 500)).unwrap_err();
        assert!(
            breach
                .detail
                .contains("20 should have come back, and 0 did"),
            "{breach}"
        );
        // At 96 its equity is 10: only 10 of the 20 come back.
        assert_eq!(exit(96, (500, 510)), Ok(()));
        assert!(exit(96, (500, 520)).is_err());
        // Still queued, or closed by ADL: nothing to judge.
        assert_eq!(
            queue_exit_returns_the_vaults_contribution(
                state(&queued, &positions, 100),
                state(&queued, &positions, 100),
                (500, 500)
            ),
            Ok(())
        );
        let closed = [(
            key,
            Position {
                base_lots: 0,
                ..long
            },
        )];
        assert_eq!(
            queue_exit_returns_the_vaults_contribution(
                state(&queued, &positions, 100),
                state(&cleared, &closed, 100),
                (500, 501)
            ),
            Ok(())
        );
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
