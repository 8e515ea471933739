use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    adl::{adl_fill_lots, adl_fill_price},
    OracleUse, PositionSide, Price, SignedLots,
};

use crate::{
    error::{EngineResultExt, PerpsError},
    events::{
        AdlCompleted, AdlFilled, AdlRankingStarted, AdlSkipped, Emitter, EventHeader,
        OrderCancelled,
    },
    oracle::{self, BreakerEvents},
    state::{
        side_from_code, CancelReason, Exchange, Market, OrderBook, PositionAccounts,
        PositionRegistry, Registry, RemainingPositions, EXCHANGE_SEED,
    },
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct Adl<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(mut, address = market.load()?.position_registry @ PerpsError::WrongRegistry)]
    pub registry: AccountLoader<'info, PositionRegistry>,
    /// CHECK: read through `oracle::observe_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining_accounts: the ranking's next positions (writable), in ranking order.
}

/// Permissionless (DESIGN.md §8): one step of closing the market's ADL book. The insurance vault
/// pays first what it holds above its floor; then the book is closed against the positions of
/// the on-chain ranking, strictly in its order from the first unfilled one (the caller supplies
/// them and nothing else), at the book's bankruptcy price while it is insolvent, else at the
/// oracle, without fees. A ranked position that has closed, flipped or can give nothing is
/// skipped, never failing the step. When the book is closed, what it has left goes to the
/// insurance vault and the market leaves ADL; when the ranking is used up first, a new sweep
/// starts at the oracle price.
pub fn handler<'info>(ctx: Context<'info, Adl<'info>>) -> Result<()> {
    let accounts = &ctx.accounts;
    let market_key = accounts.market.key();
    let mut market = accounts.market.load_mut()?;
    let supplied: Vec<Pubkey> = ctx.remaining_accounts.iter().map(|a| *a.key).collect();
    let insurance_available = accounts
        .insurance_vault
        .amount
        .saturating_sub(market.params.insurance_floor);
    let mut registry = Registry::load_mut(accounts.registry.as_ref())?;
    let mut book = accounts.order_book.load_mut()?;
    let mut breaker = BreakerEvents::default();
    let outcome = adl_action(
        AdlAccounts {
            market: &mut market,
            market_key,
            book: &mut book,
            registry: &mut registry.header,
        },
        insurance_available,
        &supplied,
        &mut RemainingPositions(ctx.remaining_accounts),
        Clock::get()?.unix_timestamp,
        |market| {
            oracle::observe_price(
                market,
                &market_key,
                &accounts.oracle,
                OracleUse::Liquidation,
                &mut breaker,
            )
        },
    )?;
    let mut emitter = Emitter::new(&accounts.event_authority)?;
    emitter.emit_breaker(&mut market, breaker)?;
    for event in outcome.events {
        match event {
            AdlEvent::Filled(filled) => emitter.emit_market(&mut market, filled)?,
            AdlEvent::Skipped(skipped) => emitter.emit_market(&mut market, skipped)?,
            AdlEvent::Cancelled(cancelled) => emitter.emit_market(&mut market, cancelled)?,
        }
    }
    crate::emit_present!(emitter, market = market; outcome.completed, outcome.ranking_started);
    emitter.flush()?;
    vault::release_then_pay_out(
        market,
        (registry, book),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[
            Payout {
                from: &accounts.insurance_vault,
                to: &accounts.collateral_vault,
                amount: outcome.from_insurance,
            },
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.insurance_vault,
                amount: outcome.to_insurance,
            },
        ],
    )
}

/// The loaded accounts an ADL step works on (the candidates come apart).
pub struct AdlAccounts<'a> {
    pub market: &'a mut Market,
    pub market_key: Pubkey,
    pub book: &'a mut OrderBook,
    pub registry: &'a mut PositionRegistry,
}

/// An event of an ADL step, in the order emitted.
pub enum AdlEvent {
    Filled(AdlFilled),
    Skipped(AdlSkipped),
    Cancelled(OrderCancelled),
}

/// What an ADL step did.
pub struct AdlOutcome {
    pub events: Vec<AdlEvent>,
    /// Set when the book was closed and the market left ADL.
    pub completed: Option<AdlCompleted>,
    /// Set when the ranking was used up with lots left (or no longer faced the book): a new
    /// sweep started.
    pub ranking_started: Option<AdlRankingStarted>,
    /// From the insurance vault into the collateral vault (into the book): what the vault holds
    /// above its floor, up to the book's deficit at the oracle, paid before anyone is haircut.
    pub from_insurance: u64,
    /// From the collateral vault to the insurance vault: what the closed book had left.
    pub to_insurance: u64,
}

/// One ADL step, in an Active or ReduceOnly market only (a Paused or Settled one refuses it with
/// `MarketPaused` or `MarketSettled`): refused with `RankingIncomplete` until the sweep has ranked
/// every registry slot. The vault's `insurance_available` is paid into the book first; then each
/// key of `supplied` must be the ranking's next unfilled position (`AdlOutOfRankingOrder`
/// otherwise), loaded from `positions`, and gives what the engine's `adl_fill_lots` allows; the
/// book's funding premium is sampled at `now` (candidates may have lost their orders).
pub fn adl_action(
    accounts: AdlAccounts,
    insurance_available: u64,
    supplied: &[Pubkey],
    positions: &mut impl PositionAccounts,
    now: i64,
    observe_price: impl FnOnce(&mut Market) -> Result<Price>,
) -> Result<AdlOutcome> {
    let AdlAccounts {
        market,
        market_key,
        book,
        registry,
    } = accounts;
    market.require_open()?;
    require!(market.is_adl_pending(), PerpsError::NoAdlPending);
    registry.sync_sweep(market);
    require!(registry.is_ranked(), PerpsError::RankingIncomplete);
    let oracle_price = observe_price(market)?;
    let tiers = market.params.margin_tiers()?;
    let mut outcome = AdlOutcome {
        events: Vec::new(),
        completed: None,
        ranking_started: None,
        from_insurance: 0,
        to_insurance: 0,
    };
    let mut adl_book = market.adl_book;
    adl_book.settle_funding(market)?;
    // The vault pays before candidates do (DESIGN.md §7).
    let equity = adl_book.state().equity(oracle_price).map_engine_err()?.0;
    if equity < 0 {
        outcome.from_insurance =
            insurance_available.min(u64::try_from(-equity).unwrap_or(u64::MAX));
        adl_book.add_collateral(outcome.from_insurance)?;
    }
    let book_side = adl_book.state().side().ok_or(PerpsError::NoAdlPending)?;
    let candidate_side = side_from_code(registry.candidate_side)?;
    if candidate_side == book_side.opposite() {
        // Negative for a short book that lost more than all it sold for.
        let bankruptcy_price = adl_book
            .state()
            .signed_bankruptcy_price()
            .map_engine_err()?;
        let fill_price = adl_fill_price(book_side, bankruptcy_price, oracle_price);
        let price = i64::try_from(fill_price.0).map_err(|_| PerpsError::MathOverflow)?;
        let book_close: i64 = match book_side {
            PositionSide::Long => -1,
            PositionSide::Short => 1,
        };
        for key in supplied {
            if adl_book.base_lots == 0 {
                break;
            }
            let cursor = registry.fill_cursor as usize;
            require!(
                registry
                    .unfilled()
                    .first()
                    .is_some_and(|next| next.position == *key),
                PerpsError::AdlOutOfRankingOrder
            );
            let entry = registry.ranking[cursor];
            let rank = cursor as u32 + 1;
            let book_lots = adl_book.base_lots.unsigned_abs();
            let filled = positions.with_position(key, |position| {
                if position.market != market_key {
                    return Ok((0, None));
                }
                position.settle_funding(market)?;
                let lots = adl_fill_lots(
                    &position.state(),
                    candidate_side,
                    fill_price,
                    oracle_price,
                    &tiers,
                    entry.lots,
                    book_lots,
                )
                .map_engine_err()?
                .0;
                if lots == 0 {
                    return Ok((0, None));
                }
                position.apply_fill(market, SignedLots(-book_close * lots as i64), fill_price)?;
                // A deleveraged position whose margin no longer covers its resting orders loses
                // them.
                let health = position
                    .state()
                    .health(
                        oracle_price,
                        &tiers,
                        market.initial_margin_factor(oracle_price)?,
                    )
                    .map_engine_err()?;
                if position.has_open_orders() && !health.meets_initial() {
                    return Ok((lots, Some(book.cancel_all_of(key, position)?)));
                }
                Ok((lots, None))
            })?;
            let (lots, cancelled) = filled.unwrap_or((0, None));
            if lots == 0 {
                outcome.events.push(AdlEvent::Skipped(AdlSkipped {
                    header: EventHeader::of(market_key),
                    candidate: *key,
                    rank,
                    sweep: registry.sweep,
                }));
                registry.fill_cursor += 1;
                continue;
            }
            adl_book.apply_fill(market, SignedLots(book_close * lots as i64), fill_price)?;
            registry.ranking[cursor].lots -= lots;
            // It stays next only if the book ran out before its ranked lots did.
            if adl_book.base_lots != 0 || registry.ranking[cursor].lots == 0 {
                registry.fill_cursor += 1;
            }
            let haircut = fill_price
                .0
                .abs_diff(oracle_price.0 as i128)
                .saturating_mul(lots as u128);
            let score = entry.score();
            outcome.events.push(AdlEvent::Filled(AdlFilled {
                header: EventHeader::of(market_key),
                candidate: *key,
                lots,
                price,
                oracle_price: oracle_price.0,
                haircut: u64::try_from(haircut).map_err(|_| PerpsError::MathOverflow)?,
                score_num: score.num,
                score_den: score.den,
                rank,
                sweep: registry.sweep,
            }));
            if let Some(cancelled) = cancelled {
                outcome.events.extend(cancelled.iter().map(|order| {
                    AdlEvent::Cancelled(order.event(market_key, *key, CancelReason::ByAdl))
                }));
            }
        }
    }
    require_eq!(
        market.open_interest_long,
        market.open_interest_short,
        PerpsError::OpenInterestImbalance
    );
    market.sample_funding_premium(&book.book, oracle_price, now)?;
    if adl_book.base_lots == 0 {
        // Closed at no better than its bankruptcy price, the book keeps dust (or, closed at the
        // oracle while solvent, its surplus): the insurance vault's.
        outcome.to_insurance =
            u64::try_from(adl_book.collateral).map_err(|_| PerpsError::MathOverflow)?;
        adl_book.collateral = 0;
        adl_book.cost_basis = 0;
        market.adl_book = adl_book;
        outcome.completed = Some(AdlCompleted {
            header: EventHeader::of(market_key),
            to_insurance: outcome.to_insurance,
        });
    } else {
        market.adl_book = adl_book;
        if registry.unfilled().is_empty() || candidate_side != book_side.opposite() {
            outcome.ranking_started = Some(market.start_adl_sweep(market_key, oracle_price)?);
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        instructions::rank_adl_candidates::rank_action,
        state::{position_registry::tests::registry, Position, RegistrySlot},
        testing::{self, Positions, USDC},
    };

    /// A market whose ADL book is long 100 lots from 60 with 70 USDC and one atom (bankruptcy
    /// price 59.30 after rounding up), ranked at 59 against two profitable shorts: A, 60 lots
    /// from 61 with 100 USDC (score 0.528, first), and B, 40 lots from 60 with 50 USDC (0.437).
    struct Fixture {
        market: Box<Market>,
        market_key: Pubkey,
        book: Box<OrderBook>,
        registry: Box<PositionRegistry>,
        slots: Vec<RegistrySlot>,
        shorts: Positions,
        a: Pubkey,
        b: Pubkey,
    }

    fn fixture() -> Fixture {
        let market_key = Pubkey::new_unique();
        let mut market = testing::market();
        market.open_interest_long = 100;
        market.open_interest_short = 100;
        market.adl_book =
            testing::position(market_key, 70 * USDC as i64 + 1, 100, 60 * USDC as i64);
        market
            .start_adl_sweep(market_key, Price(59 * USDC))
            .unwrap();
        let (a, b) = (
            Pubkey::new_from_array([0xA; 32]),
            Pubkey::new_from_array([0xB; 32]),
        );
        let (mut registry, mut slots) = registry(4);
        // B registered first: the ranking, not the slots, decides the order.
        registry.add(&mut slots, b).unwrap();
        registry.add(&mut slots, a).unwrap();
        let mut shorts = Positions(vec![
            (
                b,
                testing::position(market_key, 50 * USDC as i64, -40, 60 * USDC as i64),
            ),
            (
                a,
                testing::position(market_key, 100 * USDC as i64, -60, 61 * USDC as i64),
            ),
        ]);
        rank_action(
            &market,
            market_key,
            &mut registry,
            &mut slots,
            0..2,
            &[b, a],
            &mut shorts,
        )
        .unwrap();
        Fixture {
            market,
            market_key,
            book: testing::order_book(market_key),
            registry,
            slots,
            shorts,
            a,
            b,
        }
    }

    impl Fixture {
        fn adl(&mut self, oracle: u64, supplied: &[Pubkey]) -> Result<AdlOutcome> {
            self.adl_with_insurance(oracle, 0, supplied)
        }

        fn adl_with_insurance(
            &mut self,
            oracle: u64,
            insurance: u64,
            supplied: &[Pubkey],
        ) -> Result<AdlOutcome> {
            adl_action(
                AdlAccounts {
                    market: &mut self.market,
                    market_key: self.market_key,
                    book: &mut self.book,
                    registry: &mut self.registry,
                },
                insurance,
                supplied,
                &mut self.shorts,
                0,
                |_| Ok(Price(oracle)),
            )
        }

        /// A resized after the sweep to `lots` short from 61 with `collateral` (closed at 0 lots),
        /// and the book holding as many lots as A and B, still bankrupt at 59.30.
        fn resize_a(&mut self, lots: i64, collateral: i64) {
            let a = self.a;
            self.shorts.0.retain(|(k, _)| lots != 0 || *k != a);
            if let Some((_, short)) = self.shorts.0.iter_mut().find(|(k, _)| *k == a) {
                short.base_lots = -lots;
                short.cost_basis = -lots * 61 * USDC as i64;
                short.collateral = collateral;
            }
            let total = lots + 40;
            self.market.open_interest_long = total as u64;
            self.market.open_interest_short = total as u64;
            self.market.adl_book.base_lots = total;
            self.market.adl_book.cost_basis = total * 60 * USDC as i64;
            self.market.adl_book.collateral = total * 700_000;
        }

        fn short(&self, key: Pubkey) -> Position {
            self.shorts.0.iter().find(|(k, _)| *k == key).unwrap().1
        }
    }

    fn fills(outcome: &AdlOutcome) -> Vec<(u64, i64, u32)> {
        outcome
            .events
            .iter()
            .filter_map(|event| match event {
                AdlEvent::Filled(fill) => Some((fill.lots, fill.price, fill.rank)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn worked_adl_closes_the_book_down_the_ranking_at_its_bankruptcy_price() {
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        let outcome = f.adl(59 * USDC, &[a, b]).unwrap();
        assert_eq!(
            fills(&outcome),
            vec![(60, 59_300_000, 1), (40, 59_300_000, 2)]
        );
        // Closed at 59.30 instead of 59: A keeps 60 · 1.70 of its 120 of profit, B 40 · 0.70;
        // their haircuts, 18 + 12 USDC, are the book's deficit at 59 (29.999999) and one atom.
        assert_eq!(
            (f.short(a).base_lots, f.short(a).collateral),
            (0, 202 * USDC as i64)
        );
        assert_eq!(
            (f.short(b).base_lots, f.short(b).collateral),
            (0, 78 * USDC as i64)
        );
        let haircuts: u64 = outcome
            .events
            .iter()
            .map(|e| match e {
                AdlEvent::Filled(fill) => fill.haircut,
                _ => 0,
            })
            .sum();
        assert_eq!(haircuts, 30 * USDC);
        assert_eq!(outcome.to_insurance, 1);
        assert!(!f.market.is_adl_pending() && outcome.completed.is_some());
        assert_eq!(f.market.adl_book.collateral, 0);
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 0)
        );
    }

    #[test]
    fn the_caller_cannot_skip_reorder_or_pick_candidates() {
        let (a, b) = (fixture().a, fixture().b);
        for supplied in [vec![b], vec![b, a], vec![a, a], vec![Pubkey::new_unique()]] {
            let mut f = fixture();
            let lots = |f: &Fixture| (f.short(a).base_lots, f.short(b).base_lots);
            let before = lots(&f);
            let error = f.adl(59 * USDC, &supplied).err().unwrap();
            assert_eq!(
                error,
                PerpsError::AdlOutOfRankingOrder.into(),
                "{supplied:?}"
            );
            // The rank-1 fill of [a, a] happened in memory only: on-chain the error reverts it.
            if supplied[0] != a {
                assert_eq!(lots(&f), before);
            }
        }
        // A prefix is fine: A alone, then B.
        let mut f = fixture();
        assert_eq!(
            fills(&f.adl(59 * USDC, &[a]).unwrap()),
            vec![(60, 59_300_000, 1)]
        );
        assert_eq!(
            fills(&f.adl(59 * USDC, &[b]).unwrap()),
            vec![(40, 59_300_000, 2)]
        );
        assert!(!f.market.is_adl_pending());
    }

    #[test]
    fn no_fill_before_every_slot_is_ranked() {
        let mut f = fixture();
        let c = Pubkey::new_unique();
        f.registry.add(&mut f.slots, c).unwrap();
        f.market
            .start_adl_sweep(f.market_key, Price(59 * USDC))
            .unwrap();
        let a = f.a;
        assert_eq!(
            f.adl(59 * USDC, &[a]).err().unwrap(),
            PerpsError::RankingIncomplete.into()
        );
    }

    #[test]
    fn a_ranked_position_that_closed_is_skipped_and_one_that_shrank_gives_what_it_has() {
        // A closed after the sweep: skipped at rank 1, B fills at rank 2, and with the ranking
        // used up and 60 lots left a new sweep starts at the oracle.
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        f.resize_a(0, 0);
        let outcome = f.adl(59 * USDC, &[a, b]).unwrap();
        assert!(
            matches!(&outcome.events[0], AdlEvent::Skipped(s) if s.rank == 1 && s.candidate == a)
        );
        assert_eq!(fills(&outcome), vec![(40, 59_300_000, 2)]);
        assert!(outcome.completed.is_some());
        // A shrank to 20 lots (sold 40 in the book): it gives 20, B its 40, and 40 wait for the
        // next sweep, which starts at once.
        let mut f = fixture();
        f.resize_a(20, 100 * USDC as i64);
        let outcome = f.adl(59 * USDC, &[a, b]).unwrap();
        assert_eq!(
            fills(&outcome),
            vec![(20, 59_300_000, 1), (40, 59_300_000, 2)]
        );
        assert!(outcome.completed.is_some());
        // Had it grown instead, it would give no more than its 60 ranked lots.
        let mut f = fixture();
        f.resize_a(90, 1_000 * USDC as i64);
        let outcome = f.adl(59 * USDC, &[a, b]).unwrap();
        assert_eq!(
            fills(&outcome),
            vec![(60, 59_300_000, 1), (40, 59_300_000, 2)]
        );
        assert_eq!(f.market.adl_book.base_lots, 30);
        let started = outcome.ranking_started.unwrap();
        assert_eq!((started.sweep, started.snapshot_price), (2, 59 * USDC));
        assert_eq!(f.short(a).base_lots, -30);
    }

    #[test]
    fn the_vault_pays_what_it_holds_before_any_candidate_is_haircut() {
        // At 59 the book lacks 29.999999 USDC; the vault has 10 above its floor: it pays them
        // in, the bankruptcy price falls to 59.20, and the shorts give up 0.20 a lot.
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        let outcome = f.adl_with_insurance(59 * USDC, 10 * USDC, &[a, b]).unwrap();
        assert_eq!(outcome.from_insurance, 10 * USDC);
        assert_eq!(
            fills(&outcome),
            vec![(60, 59_200_000, 1), (40, 59_200_000, 2)]
        );
        assert_eq!(f.short(a).collateral, 208 * USDC as i64);
        assert_eq!(outcome.to_insurance, 1);
    }

    #[test]
    fn a_solvent_book_closes_at_the_oracle_and_its_surplus_goes_to_the_vault() {
        // At 60 the book has 70 USDC and an atom of equity: the shorts close at 60 with no
        // haircut, and the 70 USDC and the atom go to the insurance vault.
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        let outcome = f.adl(60 * USDC, &[a, b]).unwrap();
        assert_eq!(
            fills(&outcome),
            vec![(60, 60 * USDC as i64, 1), (40, 60 * USDC as i64, 2)]
        );
        assert_eq!(outcome.to_insurance, 70 * USDC + 1);
        assert_eq!(f.short(a).collateral, 160 * USDC as i64);
    }

    #[test]
    fn a_short_book_that_lost_more_than_it_sold_for_closes_at_a_negative_price() {
        // The book: 100 lots short from 60 with C = −7,098.20 (bankruptcy price −10.982). A long
        // of 100 from 60 with 27,197 USDC, profitable at 61, gives its lots up and pays 10.982 a
        // lot on top: 7,198.20 of haircut, the deficit at the oracle to the atom.
        let mut f = fixture();
        let market_key = f.market_key;
        f.market.adl_book = testing::position(market_key, -7_098_200_000, -100, 60 * USDC as i64);
        let long_key = Pubkey::new_unique();
        let (mut registry, mut slots) = registry(2);
        registry.add(&mut slots, long_key).unwrap();
        f.shorts = Positions(vec![(
            long_key,
            testing::position(market_key, 27_197 * USDC as i64, 100, 60 * USDC as i64),
        )]);
        f.market
            .start_adl_sweep(f.market_key, Price(61 * USDC))
            .unwrap();
        f.registry = registry;
        f.slots = slots;
        rank_action(
            &f.market,
            f.market_key,
            &mut f.registry,
            &mut f.slots,
            0..1,
            &[long_key],
            &mut f.shorts,
        )
        .unwrap();
        let outcome = f.adl(61 * USDC, &[long_key]).unwrap();
        assert_eq!(fills(&outcome), vec![(100, -10_982_000, 1)]);
        assert_eq!(
            (f.short(long_key).base_lots, f.short(long_key).collateral),
            (0, 20_098_800_000)
        );
        assert!(outcome.completed.is_some() && outcome.to_insurance == 0);
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 0)
        );
    }

    #[test]
    fn refuses_to_run_while_paused_or_after_settlement_and_changes_nothing() {
        use crate::state::MarketStatus;
        for (status, error) in [
            (MarketStatus::Paused, PerpsError::MarketPaused),
            (MarketStatus::Settled, PerpsError::MarketSettled),
        ] {
            let mut f = fixture();
            let (a, b) = (f.a, f.b);
            f.market.status = status as u8;
            assert_eq!(f.adl(59 * USDC, &[a, b]).err().unwrap(), error.into());
            assert_eq!(f.market.adl_book.base_lots, 100);
            assert!(f.shorts.0.iter().all(|(_, short)| short.base_lots != 0));
        }
        // ReduceOnly (a tripped breaker, or the admin) runs it, like Active.
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        f.market.status = MarketStatus::ReduceOnly as u8;
        assert!(f.adl(59 * USDC, &[a, b]).unwrap().completed.is_some());
    }

    #[test]
    fn with_no_eligible_candidate_the_market_stays_in_adl_and_a_new_sweep_starts() {
        // Both shorts were ranked, then both closed: the step skips them, keeps the book and
        // starts sweep 2 at the oracle.
        let mut f = fixture();
        let (a, b) = (f.a, f.b);
        f.shorts.0.clear();
        let outcome = f.adl(59 * USDC, &[a, b]).unwrap();
        assert_eq!(outcome.events.len(), 2);
        assert!(f.market.is_adl_pending());
        assert_eq!(outcome.ranking_started.unwrap().sweep, 2);
    }
}
