use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    liquidation::{plan_liquidation, waterfall, Waterfall},
    OracleUse, Price, SignedLots,
};

use crate::{
    emit_present,
    error::{EngineResultExt, PerpsError},
    events::{
        AdlBookTakeover, AdlRankingStarted, AdlStarted, Bankruptcy, Emitter, EventHeader,
        Liquidation, OrderCancelled,
    },
    oracle::{self, BreakerEvents},
    state::{CancelReason, Exchange, Market, OrderBook, Position, EXCHANGE_SEED},
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct Liquidate<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    pub liquidator: Signer<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    /// The liquidator's own position in this market, which takes the lots over.
    #[account(
        mut,
        constraint = liquidator_position.load()?.owner == liquidator.key() @ PerpsError::Unauthorized,
        constraint = liquidator_position.load()?.market == market.key() @ PerpsError::WrongMarket,
    )]
    pub liquidator_position: AccountLoader<'info, Position>,
    #[account(mut, has_one = market @ PerpsError::WrongMarket)]
    pub position: AccountLoader<'info, Position>,
    /// CHECK: read through `oracle::observe_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless (DESIGN.md §7): liquidates a position whose equity is below maintenance margin
/// at a fresh oracle price. Its resting orders are cancelled; the liquidator takes over the
/// smallest lot count that restores `MM · (1 + buffer)` (or all of it) at the oracle price less
/// (long) or plus (short) the liquidation fee, and the insurance vault receives its fee. A
/// position bankrupt on the full close has its deficit paid by the insurance vault; when the
/// vault holds less, it pays what it holds above its floor and the market's ADL book takes the
/// position over whole (any number of bankruptcies wait together there), leaving it empty.
pub fn handler(ctx: Context<Liquidate>) -> Result<()> {
    let accounts = &ctx.accounts;
    require_keys_neq!(
        accounts.position.key(),
        accounts.liquidator_position.key(),
        PerpsError::SelfLiquidation
    );
    let mut market = accounts.market.load_mut()?;
    let mut target = accounts.position.load_mut()?;
    let mut liquidator = accounts.liquidator_position.load_mut()?;
    let mut book = accounts.order_book.load_mut()?;
    let mut breaker = BreakerEvents::default();
    let outcome = liquidate_action(
        LiquidateAccounts {
            market: &mut market,
            market_key: accounts.market.key(),
            book: &mut book,
            target: &mut target,
            target_key: accounts.position.key(),
            liquidator: &mut liquidator,
            liquidator_key: accounts.liquidator_position.key(),
        },
        accounts.insurance_vault.amount,
        Clock::get()?.unix_timestamp,
        |market| {
            oracle::observe_price(
                market,
                &accounts.market.key(),
                &accounts.oracle,
                OracleUse::Liquidation,
                &mut breaker,
            )
        },
    )?;
    let events = outcome.events;
    let mut emitter = Emitter::new(&accounts.event_authority)?;
    emitter.emit_breaker(&mut market, breaker)?;
    for cancelled in events.cancelled {
        emitter.emit_market(&mut market, cancelled)?;
    }
    emit_present!(emitter, market = market;
        events.bankruptcy_queued,
        events.takeover,
        events.adl_started,
        events.ranking_started,
        events.liquidation,
        events.bankruptcy_paid,
    );
    emitter.flush()?;
    vault::release_then_pay_out(
        market,
        (target, liquidator, book),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[
            Payout {
                from: &accounts.insurance_vault,
                to: &accounts.collateral_vault,
                amount: outcome.paid_by_insurance,
            },
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.insurance_vault,
                amount: outcome.insurance_fee,
            },
        ],
    )
}

/// The loaded accounts a liquidation works on.
pub struct LiquidateAccounts<'a> {
    pub market: &'a mut Market,
    pub market_key: Pubkey,
    pub book: &'a mut OrderBook,
    pub target: &'a mut Position,
    pub target_key: Pubkey,
    pub liquidator: &'a mut Position,
    pub liquidator_key: Pubkey,
}

/// The events of one liquidation, in the order they are emitted.
#[derive(Default)]
pub struct LiquidationEvents {
    pub cancelled: Vec<OrderCancelled>,
    /// The position was taken into the ADL book (the market entering ADL with `adl_started`,
    /// a sweep starting with `ranking_started`).
    pub bankruptcy_queued: Option<Bankruptcy>,
    pub takeover: Option<AdlBookTakeover>,
    pub adl_started: Option<AdlStarted>,
    pub ranking_started: Option<AdlRankingStarted>,
    pub liquidation: Option<Liquidation>,
    /// The insurance vault covered the deficit of a position taken over.
    pub bankruptcy_paid: Option<Bankruptcy>,
}

/// What a liquidation moves between the vaults, and its events.
pub struct LiquidationOutcome {
    /// From the insurance vault into the collateral vault.
    pub paid_by_insurance: u64,
    /// From the collateral vault into the insurance vault.
    pub insurance_fee: u64,
    pub events: LiquidationEvents,
}

/// Liquidates `target` into `liquidator`: the engine plans the transfer at the observed price,
/// the target's orders are cancelled, and the engine's waterfall decides between a take-over
/// (the vault paying any deficit) and the ADL queue. `insurance_balance` is the insurance
/// vault's balance; `observe_price` reads the oracle (and may move the market's EMA and breaker);
/// the book's funding premium is sampled at `now` once the target's orders are off it.
pub fn liquidate_action(
    accounts: LiquidateAccounts,
    insurance_balance: u64,
    now: i64,
    observe_price: impl FnOnce(&mut Market) -> Result<Price>,
) -> Result<LiquidationOutcome> {
    let LiquidateAccounts {
        market,
        market_key,
        book,
        target,
        target_key,
        liquidator,
        liquidator_key,
    } = accounts;
    market.require_open()?;
    let oracle_price = observe_price(market)?;
    let params = market.params;
    let tiers = params.margin_tiers()?;
    target.settle_funding(market)?;
    liquidator.settle_funding(market)?;
    let plan = plan_liquidation(
        &target.state(),
        oracle_price,
        &tiers,
        &params.liquidation_params(),
    )
    .map_engine_err()?;

    let mut events = LiquidationEvents::default();
    events.cancelled = book
        .cancel_all_of(&target_key, target)?
        .iter()
        .map(|order| order.event(market_key, target_key, CancelReason::ByLiquidation))
        .collect();
    let deficit = u64::try_from(plan.deficit.0).map_err(|_| PerpsError::MathOverflow)?;
    let available = insurance_balance.saturating_sub(params.insurance_floor);
    let decision = waterfall(&plan, available).map_engine_err()?;
    let paid_by_insurance = decision.paid_by_insurance();
    let mut insurance_fee = 0;
    if let Waterfall::QueueForAdl { .. } = decision {
        // Not taken over by the liquidator: the market's ADL book takes it whole, with the vault's
        // payment, at the bankruptcy price these give it (negative for a short that lost more
        // than its collateral and all it sold for, DESIGN.md §7).
        target.add_collateral(paid_by_insurance)?;
        let bankruptcy_price =
            i64::try_from(target.state().signed_bankruptcy_price().map_engine_err()?.0)
                .map_err(|_| PerpsError::MathOverflow)?;
        let lots = target.base_lots;
        let side_before = market.adl_book_side();
        market.take_over_into_adl_book(target)?;
        let book_state = market.adl_book.state();
        let book_bankruptcy_price = match book_state.side() {
            Some(_) => i64::try_from(book_state.signed_bankruptcy_price().map_engine_err()?.0)
                .map_err(|_| PerpsError::MathOverflow)?,
            None => 0,
        };
        events.bankruptcy_queued = Some(Bankruptcy {
            header: EventHeader::of(market_key),
            position: target_key,
            deficit,
            paid_by_insurance,
            left_for_adl: deficit - paid_by_insurance,
            bankruptcy_price,
            lots: lots.unsigned_abs(),
        });
        events.takeover = Some(AdlBookTakeover {
            header: EventHeader::of(market_key),
            position: target_key,
            lots,
            book_lots: market.adl_book.base_lots,
            book_bankruptcy_price,
        });
        // Entering ADL, or a book that changed sides (opposite bankruptcies netted), needs a
        // ranking of the other side: a sweep starts at the oracle price.
        if market.is_adl_pending() && market.adl_book_side() != side_before {
            if side_before.is_none() {
                events.adl_started = Some(AdlStarted {
                    header: EventHeader::of(market_key),
                    lots: market.adl_book.base_lots.unsigned_abs(),
                    bankruptcy_price: book_bankruptcy_price,
                });
            }
            events.ranking_started = Some(market.start_adl_sweep(market_key, oracle_price)?);
        }
    } else {
        let side_sign = target.base_lots.signum();
        let lots = plan.lots.0 as i64;
        target.apply_fill(market, SignedLots(-side_sign * lots), plan.price)?;
        liquidator.apply_fill(market, SignedLots(side_sign * lots), plan.price)?;
        insurance_fee =
            u64::try_from(plan.insurance_fee.0).map_err(|_| PerpsError::MathOverflow)?;
        target.charge_fee(plan.insurance_fee)?;
        // The vault's payment brings a bankrupt position's collateral back to exactly zero.
        target.add_collateral(paid_by_insurance)?;
        require_eq!(
            market.open_interest_long,
            market.open_interest_short,
            PerpsError::OpenInterestImbalance
        );
        let liquidator_health = liquidator
            .state()
            .health(
                oracle_price,
                &tiers,
                market.initial_margin_factor(oracle_price)?,
            )
            .map_engine_err()?;
        require!(
            liquidator_health.meets_initial(),
            PerpsError::LiquidatorBelowInitialMargin
        );
        let improvement = oracle_price.0.abs_diff(plan.price.0) as u128 * plan.lots.0 as u128;
        events.liquidation = Some(Liquidation {
            header: EventHeader::of(market_key),
            position: target_key,
            liquidator: liquidator_key,
            lots: plan.lots.0,
            price: plan.price.0,
            oracle_price: oracle_price.0,
            liquidator_fee: u64::try_from(improvement).map_err(|_| PerpsError::MathOverflow)?,
            insurance_fee,
            full: plan.full,
        });
        if deficit > 0 {
            events.bankruptcy_paid = Some(Bankruptcy {
                header: EventHeader::of(market_key),
                position: target_key,
                deficit,
                paid_by_insurance,
                left_for_adl: 0,
                bankruptcy_price: 0,
                lots: 0,
            });
        }
    }
    market.sample_funding_premium(&book.book, oracle_price, now)?;
    Ok(LiquidationOutcome {
        paid_by_insurance,
        insurance_fee,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};

    /// A market where a long of 100 lots from 60 USDC (`collateral` USDC) faces a short of 100
    /// elsewhere, and a flat liquidator holding 100 USDC.
    struct Fixture {
        market: Box<Market>,
        book: Box<OrderBook>,
        target: Position,
        liquidator: Position,
        target_key: Pubkey,
    }

    fn fixture(collateral: i64) -> Fixture {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        market.open_interest_long = 100;
        market.open_interest_short = 100;
        Fixture {
            market,
            book: testing::order_book(key),
            target: testing::position(key, collateral, 100, 60 * USDC as i64),
            liquidator: testing::position(key, 100 * USDC as i64, 0, 0),
            target_key: Pubkey::new_unique(),
        }
    }

    impl Fixture {
        fn liquidate(&mut self, oracle: u64, insurance: u64) -> Result<LiquidationOutcome> {
            liquidate_action(
                LiquidateAccounts {
                    market: &mut self.market,
                    market_key: Pubkey::new_unique(),
                    book: &mut self.book,
                    target: &mut self.target,
                    target_key: self.target_key,
                    liquidator: &mut self.liquidator,
                    liquidator_key: Pubkey::new_unique(),
                },
                insurance,
                0,
                |_| Ok(Price(oracle)),
            )
        }
    }

    #[test]
    fn worked_partial_liquidation_takes_the_smallest_restoring_size() {
        // At 59.5: U = −50, equity 25 < MM 0.5% · 5,950 = 29.75. Each lot taken costs 0.119 of
        // discount (transfer at 59.381) and 0.0595 of insurance fee, and frees 0.32725 of the
        // 10%-buffered target: 52 lots is the least that restores it.
        let mut f = fixture(75 * USDC as i64);
        let outcome = f.liquidate(59_500_000, 0).unwrap();
        assert_eq!((f.target.base_lots, f.liquidator.base_lots), (48, 52));
        assert_eq!(f.liquidator.cost_basis, 52 * 59_381_000);
        assert_eq!(outcome.insurance_fee, 3_094_000);
        assert_eq!(outcome.paid_by_insurance, 0);
        // 75 − 52 · 0.619 realized − 3.094 of fee.
        assert_eq!(f.target.collateral, 39_718_000);
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (100, 100)
        );
        let event = outcome.events.liquidation.unwrap();
        assert_eq!(
            (event.lots, event.price, event.liquidator_fee),
            (52, 59_381_000, 6_188_000)
        );
        assert!(!event.full && outcome.events.bankruptcy_paid.is_none());
    }

    #[test]
    fn a_bankruptcy_the_vault_covers_is_taken_over_and_brought_to_zero() {
        // At 59: equity −40. Bankrupt at the oracle, it is taken over at 59, not at the
        // discounted 58.882: the vault pays its 40 USDC of negative equity and no discount.
        let mut f = fixture(60 * USDC as i64);
        let outcome = f.liquidate(59_000_000, 100 * USDC).unwrap();
        assert_eq!(outcome.paid_by_insurance, 40 * USDC);
        assert_eq!(f.liquidator.cost_basis, 100 * 59 * USDC as i64);
        assert_eq!(outcome.insurance_fee, 0);
        assert_eq!((f.target.base_lots, f.target.collateral), (0, 0));
        assert_eq!(f.liquidator.base_lots, 100);
        assert!(outcome.events.liquidation.unwrap().full);
        assert_eq!(outcome.events.bankruptcy_paid.unwrap().deficit, 40 * USDC);
        assert!(!f.market.is_adl_pending());
    }

    #[test]
    fn a_bankruptcy_beyond_the_vault_goes_into_the_adl_book_and_a_second_one_joins_it() {
        let mut f = fixture(60 * USDC as i64);
        let outcome = f.liquidate(59_000_000, 10 * USDC).unwrap();
        // The vault pays what it holds (under the 40 the position lacks at the oracle), and the
        // book takes the position whole: the owner's account is left empty, free to go on.
        assert_eq!(outcome.paid_by_insurance, 10 * USDC);
        assert_eq!(
            (f.target.base_lots, f.target.collateral, f.target.cost_basis),
            (0, 0, 0)
        );
        assert_eq!(f.liquidator.base_lots, 0);
        assert!(f.market.is_adl_pending());
        let book = f.market.adl_book;
        assert_eq!((book.base_lots, book.collateral), (100, 70 * USDC as i64));
        // (6,000 − 70) / 100 lots.
        let queued = outcome.events.bankruptcy_queued.unwrap();
        assert_eq!(
            (queued.deficit, queued.left_for_adl, queued.bankruptcy_price),
            (40 * USDC, 30 * USDC, 59_300_000)
        );
        assert!(outcome.events.adl_started.is_some() && outcome.events.liquidation.is_none());
        let sweep = outcome.events.ranking_started.unwrap();
        assert_eq!(
            (sweep.sweep, sweep.snapshot_price, sweep.candidate_side),
            (1, 59_000_000, 1)
        );
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (100, 100)
        );
        // A second bankrupt long the vault cannot cover joins the book; the sweep goes on.
        let mut other = fixture(30 * USDC as i64);
        other.market = f.market.clone();
        let outcome = other.liquidate(59_000_000, 0).unwrap();
        assert!(outcome.events.adl_started.is_none() && outcome.events.ranking_started.is_none());
        let takeover = outcome.events.takeover.unwrap();
        // 200 lots from 60 with 100 USDC: (12,000 − 100) / 200 = 59.50.
        assert_eq!(
            (takeover.book_lots, takeover.book_bankruptcy_price),
            (200, 59_500_000)
        );
        assert_eq!(other.market.adl_sweep, 1);
    }

    #[test]
    fn a_short_with_negative_equity_at_every_price_goes_into_the_book_at_a_negative_bankruptcy_price(
    ) {
        // 100 lots short from 60 that paid 7,200 USDC of funding on 100.60: C = −7,099.40, below
        // −|Q| = −6,000, so its equity is negative at every price. At 61 it lacks 7,199.40; the
        // vault holds 1.20 and pays it. Its bankruptcy price is (−6,000 + 7,098.20) / −100 =
        // −10.982: ADL closes the book there.
        let mut f = fixture(0);
        f.target = testing::position(Pubkey::new_unique(), -7_099_400_000, -100, 60 * USDC as i64);
        let outcome = f.liquidate(61 * USDC, 1_200_000).unwrap();
        assert_eq!(outcome.paid_by_insurance, 1_200_000);
        assert!(f.market.is_adl_pending());
        let queued = outcome.events.bankruptcy_queued.unwrap();
        assert_eq!(
            (queued.deficit, queued.left_for_adl, queued.bankruptcy_price),
            (7_199_400_000, 7_198_200_000, -10_982_000)
        );
        assert_eq!(f.market.adl_book.collateral, -7_098_200_000);
        assert_eq!(outcome.events.ranking_started.unwrap().candidate_side, 0);
    }

    #[test]
    fn opposite_bankruptcies_net_in_the_book() {
        // A long book of 100 from 60 with 70 USDC; a short of 100 from 58 with nothing left
        // comes in at 59: the book is flat, and what is left (70 + 5,800 − 6,000 = −130) is the
        // deficit both left together at any price. The lots left open interest on both sides.
        let mut f = fixture(0);
        f.market.open_interest_long = 100;
        f.market.open_interest_short = 100;
        f.market.adl_book = testing::position(
            Pubkey::new_unique(),
            70 * USDC as i64,
            100,
            60 * USDC as i64,
        );
        f.market
            .start_adl_sweep(Pubkey::new_unique(), Price(59 * USDC))
            .unwrap();
        f.target = testing::position(Pubkey::new_unique(), 0, -100, 58 * USDC as i64);
        f.liquidate(59 * USDC, 0).unwrap();
        let book = f.market.adl_book;
        assert_eq!(
            (book.base_lots, book.cost_basis, book.collateral),
            (0, 0, -130 * USDC as i64)
        );
        assert!(!f.market.is_adl_pending());
    }

    #[test]
    fn refuses_a_healthy_position_a_paused_market_and_an_undercapitalised_liquidator() {
        let mut f = fixture(75 * USDC as i64);
        assert_eq!(
            f.liquidate(59_800_000, 0).err().unwrap(),
            PerpsError::NotLiquidatable.into()
        );
        f.market.status = crate::state::MarketStatus::Paused as u8;
        assert_eq!(
            f.liquidate(59_500_000, 0).err().unwrap(),
            PerpsError::MarketPaused.into()
        );
        let mut f = fixture(75 * USDC as i64);
        f.liquidator.collateral = 0;
        assert_eq!(
            f.liquidate(59_500_000, 0).err().unwrap(),
            PerpsError::LiquidatorBelowInitialMargin.into()
        );
    }

    #[test]
    fn a_partial_liquidation_of_negative_collateral_backed_by_profit_never_draws_on_the_vault() {
        // Alice long 100 from 60 took all her collateral out at 66 and then paid 570 USDC of
        // funding: collateral −570, equity +30 under MM 33. 39 lots restore her. Before, the
        // plan reported her negative collateral as a deficit and the vault paid 341.15 USDC into
        // a solvent position (issue 13, finding 1). Now the vault pays nothing and she pays
        // her insurance fee like anyone.
        let mut f = fixture(-570 * USDC as i64);
        let outcome = f.liquidate(66 * USDC, 1_000 * USDC).unwrap();
        assert_eq!((f.target.base_lots, f.liquidator.base_lots), (61, 39));
        assert_eq!(outcome.paid_by_insurance, 0);
        assert_eq!(outcome.insurance_fee, 2_574_000);
        // −570 + 39 · (65.868 − 60) − 2.574: still negative, backed by 61 · 6 of profit.
        assert_eq!(f.target.collateral, -343_722_000);
        assert!(outcome.events.bankruptcy_paid.is_none() && !f.market.is_adl_pending());
    }
}
