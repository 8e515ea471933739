//! One run: the program in an embedded bank, a market, market makers, traders and the keeper
//! library, stepped along a price path with the invariants checked after every step.
#![allow(deprecated)]

use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use perps::state::{Market, MarketStatus, Position};
use perps_client::adl::{next_adl_step, AdlStep};
use perps_client::sizing::{affordable_lots, price_at, taker_limit};
use perps_client::{instructions as ix, oracle, OrderSide, OrderType, PlaceOrderArgs};
use perps_engine::{OracleUse, Price};
use perps_keeper::{bank::BankChain, Keeper};
use perps_testkit::{
    default_params,
    invariants::{self, Breach},
    MarketFixture, TestContext, Wallet, FEED_EXPO, USDC,
};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_keypair::Keypair;

use crate::recorder::RecordingChain;
use crate::report::{Row, Summary, Throughput};
use crate::scenario::Scenario;
use crate::view::BankView;

/// Open-interest cap of the simulated market: far above what any scenario trades.
const MAX_OPEN_INTEREST_LOTS: u64 = 1_000_000_000;
/// Chance that a flat trader who acts takes half its collateral out instead of trading.
const FLAT_WITHDRAW_PROBABILITY: f64 = 0.2;
/// Keeper passes within one step, at most.
const MAX_KEEPER_PASSES_PER_STEP: usize = 8;
/// The liquidator unwinds what it took over at up to twice the traders' slippage.
const UNWIND_SLIPPAGE_FACTOR: u32 = 2;
/// The position registry's least capacity, and the slots it keeps beyond the run's positions.
const MIN_REGISTRY_CAPACITY: u32 = 1_024;
const REGISTRY_MARGIN: u32 = 16;

/// Who sends a taker order.
#[derive(Clone, Copy)]
enum Taker {
    Trader(usize),
    Liquidator(usize),
}

struct Trader {
    wallet: Wallet,
    long: bool,
    leverage: f64,
}

/// Value that crossed the program's boundary: deposits and insurance funding in, withdrawals out.
#[derive(Default)]
struct Ledger {
    deposited: u64,
    withdrawn: u64,
}

/// Whether the run finished or an invariant broke.
#[derive(Debug)]
pub enum Outcome {
    Completed,
    Breach { step: u32, breach: Breach },
}

pub struct Simulation {
    pub scenario: Scenario,
    /// The bank: the harness's sends, reads through the account cache the keepers share.
    bank: BankView,
    market: MarketFixture,
    /// Every position of the run, in the order they were opened.
    positions: Vec<Pubkey>,
    rng: ChaCha8Rng,
    traders: Vec<Trader>,
    makers: Vec<Wallet>,
    /// Each keeper liquidates into its own liquidator's position; with two or more, one that
    /// fails is itself liquidated by another (no keeper can liquidate itself).
    liquidators: Vec<Wallet>,
    keepers: Vec<Keeper<RecordingChain>>,
    ledger: Ledger,
    next_order_id: u64,
    step: u32,
    /// The market's lot size, `10^base_lot_exponent` base units.
    base_lot_exponent: i8,
    pub summary: Summary,
    pub timeline: Vec<Row>,
    pub throughput: Throughput,
}

/// A key drawn from the run's random stream, so positions (and ADL ties) repeat with the seed.
fn seeded_keypair(rng: &mut ChaCha8Rng) -> Keypair {
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    Keypair::new_from_array(secret)
}

fn usdc(amount: u64) -> u64 {
    amount * USDC
}

/// Standard normal draw (Box–Muller), for the price noise.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Simulation {
    /// Starts the bank, creates the exchange and the market, funds the insurance vault, the
    /// market makers, the traders and the liquidator.
    pub async fn new(scenario: Scenario) -> anyhow::Result<Self> {
        scenario.validate()?;
        let started = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed);
        let mut ctx = TestContext::with_exchange().await;
        let mut params = default_params();
        params.max_open_interest_lots = MAX_OPEN_INTEREST_LOTS;
        params.funding_interval_secs = scenario.market.funding_interval_secs;
        params.breaker_move_ppm = scenario.market.breaker_move_ppm;
        params.fee_insurance_share_bps = scenario.market.fee_insurance_share_bps;
        params.insurance_fee_ppm = scenario.market.liquidation_insurance_fee_ppm;
        let start_price = feed_price(scenario.path_price(0));
        let capacity = registry_capacity(
            scenario.market_makers.count + scenario.traders.count + scenario.liquidator.keepers,
        );
        let market = ctx.create_market_sized(params, start_price, capacity).await;
        let mut ledger = Ledger::default();
        if scenario.market.insurance_usdc > 0 {
            ctx.fund_insurance(&market, usdc(scenario.market.insurance_usdc))
                .await;
            ledger.deposited += usdc(scenario.market.insurance_usdc);
        }

        let mut makers = Vec::new();
        for _ in 0..scenario.market_makers.count {
            let collateral = usdc(scenario.market_makers.collateral_usdc);
            makers.push(open_funded(&mut ctx, &market, seeded_keypair(&mut rng), collateral).await);
            ledger.deposited += collateral;
        }
        let t = &scenario.traders;
        let mut traders = Vec::new();
        for _ in 0..t.count {
            let collateral = usdc(rng.random_range(t.collateral_usdc.0..=t.collateral_usdc.1));
            let long = rng.random_bool(t.long_share);
            let leverage = rng.random_range(t.leverage.0..=t.leverage.1);
            let wallet = open_funded(&mut ctx, &market, seeded_keypair(&mut rng), collateral).await;
            ledger.deposited += collateral;
            traders.push(Trader {
                wallet,
                long,
                leverage,
            });
        }
        let collateral = usdc(scenario.liquidator.collateral_usdc);
        let mut liquidators = Vec::new();
        for _ in 0..scenario.liquidator.keepers {
            liquidators
                .push(open_funded(&mut ctx, &market, seeded_keypair(&mut rng), collateral).await);
            ledger.deposited += collateral;
        }

        let watched: Vec<_> = ctx
            .positions_of(&market)
            .await
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let insurance = ctx.token_balance(&market.insurance_vault).await;
        // From here on every transaction goes through the view or a keeper's chain, both of
        // which tell the shared cache what it may have written.
        let bank = BankView::new(ctx);
        let client = bank.ctx.bank.banks_client.clone();
        let keepers = liquidators
            .iter()
            .map(|liquidator| {
                let chain = BankChain::new(
                    client.clone(),
                    liquidator.keypair.insecure_clone(),
                    watched.clone(),
                )
                .with_cache(bank.cache.clone());
                Keeper::new(
                    RecordingChain::new(chain, market.market),
                    vec![market.index],
                    false,
                )
            })
            .collect();
        let summary = Summary::new(&scenario, insurance, capacity);
        Ok(Self {
            scenario,
            bank,
            market,
            positions: watched,
            rng,
            traders,
            makers,
            liquidators,
            keepers,
            ledger,
            next_order_id: 1,
            step: 0,
            base_lot_exponent: params.base_lot_exponent,
            summary,
            timeline: Vec::new(),
            throughput: Throughput {
                setup: started.elapsed(),
                ..Throughput::default()
            },
        })
    }

    /// With `on`, every account read from the shared cache is also read afresh from the bank
    /// and must be the same (a panic otherwise): tests check with it that every transaction of a
    /// run reaches the cache.
    pub fn verify_cache_reads(&self, on: bool) {
        self.bank.cache.verify(on);
    }

    /// Lots in one unit of the base asset (1,000 for lots of 0.001 BTC).
    pub fn lots_per_base(&self) -> f64 {
        10f64.powi(-(self.base_lot_exponent as i32))
    }

    pub fn steps(&self) -> u32 {
        self.scenario.steps
    }

    /// Plays every step; stops at the first broken invariant. `progress` hears of each step.
    pub async fn run(&mut self, mut progress: impl FnMut(u32, &Row)) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let mut outcome = Outcome::Completed;
        while self.step < self.scenario.steps {
            let breach = self.step().await?;
            progress(self.step, self.timeline.last().expect("a row per step"));
            if let Some(breach) = breach {
                outcome = Outcome::Breach {
                    step: self.step,
                    breach,
                };
                break;
            }
        }
        self.throughput.run = started.elapsed();
        self.summary.adl_open_at_end = self.bank.market(&self.market.market).await.is_adl_pending();
        self.throughput.keeper_transactions =
            self.keepers.iter().map(|k| k.chain.transactions).sum();
        Ok(outcome)
    }

    /// One step: the clock moves, the oracle publishes, market makers requote, traders trade,
    /// the liquidator unwinds, the keeper passes, and the invariants are checked.
    pub async fn step(&mut self) -> anyhow::Result<Option<Breach>> {
        let step = self.step;
        self.step += 1;
        let noise = self.scenario.price.noise_bps / 10_000.0 * normal(&mut self.rng);
        let usd = self.scenario.path_price(step) * (1.0 + noise);
        self.bank.ctx.advance_clock(self.scenario.step_secs).await;
        self.sim_send_price(feed_price(usd)).await?;
        let market = self.bank.market(&self.market.market).await;
        let price = self.oracle_lot_price(&market).await?;
        let row_base = self.summary.counts();

        self.quote(&market, price).await?;
        self.trade(&market, price).await;
        for i in 0..self.liquidators.len() {
            self.unwind(i, &market, price).await;
        }

        let keeper_started = Instant::now();
        // Keepers loop: within one step they pass, in turn, until a round finds nothing to do.
        for _ in 0..MAX_KEEPER_PASSES_PER_STEP {
            let mut busy = false;
            for keeper in &mut self.keepers {
                keeper.chain.price = price;
                let pass = keeper.pass().await;
                self.summary.keeper_errors += pass.errors as u64;
                busy |= pass.liquidations > 0
                    || pass.rank_transactions > 0
                    || pass.adl_transactions > 0;
            }
            if !busy {
                break;
            }
        }
        self.throughput.keeper_time += keeper_started.elapsed();
        for keeper in &mut self.keepers {
            for effect in std::mem::take(&mut keeper.chain.effects) {
                self.summary.record(&effect);
            }
        }

        let (row, breach) = self.check(step, usd, price, row_base).await;
        self.timeline.push(row);
        Ok(breach)
    }

    async fn sim_send_price(&mut self, price: i64) -> anyhow::Result<()> {
        let result = self.bank.set_price(&self.market.oracle, price, 0).await;
        self.throughput.count(1);
        result.map_err(|e| anyhow::anyhow!("set_price refused: {e}"))
    }

    /// The oracle's price in quote atoms per lot, as the program converts it.
    async fn oracle_lot_price(&mut self, market: &Market) -> anyhow::Result<Price> {
        let feed = self
            .bank
            .account(&self.market.oracle)
            .await
            .ok_or_else(|| anyhow::anyhow!("price feed missing"))?;
        let now = self.bank.ctx.clock().await.unix_timestamp;
        oracle::oracle_price(
            &self.market.market,
            market,
            &feed.owner,
            &feed.data,
            now,
            OracleUse::Liquidation,
        )
        .map_err(|reason| anyhow::anyhow!("oracle refused: {reason}"))
    }

    fn order_id(&mut self) -> u64 {
        self.next_order_id += 1;
        self.next_order_id
    }

    async fn position(&mut self, owner: &Pubkey) -> Position {
        self.bank.position(&self.market.market, owner).await
    }

    /// The market makers pull their quotes, then each quotes `levels` a side around the oracle
    /// (pulled first, so no maker's new quote meets another's stale one). While the market takes
    /// only risk-reducing orders (ADL, reduce-only) a maker quotes only the side that reduces
    /// its inventory.
    async fn quote(&mut self, market: &Market, price: Price) -> anyhow::Result<()> {
        let mm = self.scenario.market_makers.clone();
        let tick = market.params.tick_size;
        let reducing_only = takes_only_reducing_orders(market);
        let lots = (usdc(mm.level_usdc) / price.0).max(1);
        for maker in &self.makers {
            let cancel = ix::cancel_all_orders(&maker.pubkey(), &self.market.keys());
            self.throughput.count(1);
            self.bank
                .send(&[cancel], &[&maker.keypair])
                .await
                .map_err(|e| anyhow::anyhow!("cancel_all_orders refused: {e}"))?;
        }
        for i in 0..self.makers.len() {
            let maker = self.makers[i].pubkey();
            let inventory = self.position(&maker).await.base_lots;
            let mut instructions = Vec::new();
            for level in 0..mm.levels {
                let offset = (mm.spread_bps + level * mm.level_step_bps) as i64;
                let bid = price_at(OrderSide::Bid, price, -offset, tick);
                let ask = price_at(OrderSide::Ask, price, offset, tick);
                for (side, at) in [(OrderSide::Bid, bid), (OrderSide::Ask, ask)] {
                    let reduces = matches!(
                        (side, inventory.signum()),
                        (OrderSide::Bid, -1) | (OrderSide::Ask, 1)
                    );
                    if reducing_only && !reduces {
                        continue;
                    }
                    let args = PlaceOrderArgs {
                        side,
                        price: at,
                        lots,
                        order_type: OrderType::PostOnly,
                        reduce_only: reducing_only,
                        client_order_id: self.order_id(),
                    };
                    let keys = self.market.keys();
                    instructions.push(self.bank.place_order(&maker, &keys, args, &[]));
                }
            }
            if instructions.is_empty() {
                continue;
            }
            self.throughput.count(instructions.len());
            let signer = &self.makers[i].keypair;
            if self.bank.send(&instructions, &[signer]).await.is_err() {
                self.summary.quotes_refused += 1;
            }
        }
        Ok(())
    }

    /// Each trader acts with the scenario's probability: a flat trader takes some of its
    /// collateral out or opens at its leverage; one with a position adds, trims or closes.
    /// Traders do not watch the market's state: while it is in ADL or reduce-only the program
    /// refuses their risk-increasing orders (counted as refused).
    async fn trade(&mut self, market: &Market, price: Price) {
        let t = self.scenario.traders.clone();
        let tick = market.params.tick_size;
        for i in 0..self.traders.len() {
            if !self.rng.random_bool(t.act_probability) {
                continue;
            }
            let position = self.position(&self.traders[i].wallet.pubkey()).await;
            let held = position.base_lots;
            if held == 0
                && position.collateral > 0
                && self.rng.random_bool(FLAT_WITHDRAW_PROBABILITY)
            {
                self.withdraw(i, position.collateral as u64 / 2).await;
                continue;
            }
            let (side, lots, reduce_only) = if held == 0 {
                let equity = position.collateral.max(0) as f64;
                let lots = (equity * self.traders[i].leverage / price.0 as f64) as u64;
                let side = side_of(if self.traders[i].long { 1 } else { -1 });
                (side, affordable_lots(market, &position, price, lots), false)
            } else {
                let size = held.unsigned_abs();
                let (adding, closing) = (side_of(held), side_of(-held));
                match self.rng.random_range(0..10) {
                    0..=4 => {
                        let more = (size as f64 * self.rng.random_range(0.1..0.3)) as u64;
                        let total = affordable_lots(market, &position, price, size + more);
                        (adding, total.saturating_sub(size), false)
                    }
                    5..=7 => (
                        closing,
                        (size as f64 * self.rng.random_range(0.2..0.5)) as u64,
                        true,
                    ),
                    _ => (closing, size, true),
                }
            };
            if lots == 0 {
                continue;
            }
            let limit = taker_limit(side, price, t.slippage_bps, tick);
            let args = PlaceOrderArgs {
                side,
                price: limit,
                lots,
                order_type: OrderType::ImmediateOrCancel,
                reduce_only,
                client_order_id: self.order_id(),
            };
            self.take(Taker::Trader(i), args, held, price).await;
        }
    }

    /// Trader `i` takes `amount` of its collateral back to its wallet.
    async fn withdraw(&mut self, i: usize, amount: u64) {
        self.throughput.count(1);
        let wallet = &self.traders[i].wallet;
        if self
            .bank
            .withdraw(&self.market, wallet, amount)
            .await
            .is_ok()
        {
            self.ledger.withdrawn += amount;
            self.summary.withdrawn_atoms += amount;
        } else {
            self.summary.withdrawals_refused += 1;
        }
    }

    /// Sends a taker order and counts what it filled.
    async fn take(&mut self, taker: Taker, args: PlaceOrderArgs, held: i64, price: Price) {
        self.throughput.count(1);
        let wallet = match taker {
            Taker::Trader(i) => &self.traders[i].wallet,
            Taker::Liquidator(i) => &self.liquidators[i],
        };
        let owner = wallet.pubkey();
        if self.bank.place(&self.market, wallet, args).await.is_err() {
            self.summary.orders_refused += 1;
            return;
        }
        let filled = self.position(&owner).await.base_lots.abs_diff(held);
        if filled > 0 {
            self.summary.trades += 1;
            self.summary.volume_atoms += filled as u128 * price.0 as u128;
        }
    }

    /// Liquidator `i` sells back what it took over, reduce-only, into the market makers' quotes.
    async fn unwind(&mut self, i: usize, market: &Market, price: Price) {
        let held = self.position(&self.liquidators[i].pubkey()).await.base_lots;
        if held == 0 {
            return;
        }
        let side = side_of(-held);
        let tick = market.params.tick_size;
        let slippage = self.scenario.traders.slippage_bps * UNWIND_SLIPPAGE_FACTOR;
        let args = PlaceOrderArgs {
            side,
            price: taker_limit(side, price, slippage, tick),
            lots: held.unsigned_abs(),
            order_type: OrderType::ImmediateOrCancel,
            reduce_only: true,
            client_order_id: self.order_id(),
        };
        self.take(Taker::Liquidator(i), args, held, price).await;
    }

    /// DESIGN.md §12 after the step, and the step's row of the timeline.
    async fn check(
        &mut self,
        step: u32,
        usd: f64,
        price: Price,
        before: crate::report::Counts,
    ) -> (Row, Option<Breach>) {
        let market = self.bank.market(&self.market.market).await;
        let positions = self.bank.positions(&self.positions).await;
        let registry = self.bank.registry(&self.market.registry).await;
        let vault = self.bank.token_balance(&self.market.collateral_vault).await;
        let insurance = self.bank.token_balance(&self.market.insurance_vault).await;
        let treasury = self.bank.token_balance(&self.market.treasury).await;
        let conserved = || {
            let held = vault as u128 + insurance as u128 + treasury as u128;
            let net = self.ledger.deposited as u128 - self.ledger.withdrawn as u128;
            if held == net {
                Ok(())
            } else {
                Err(Breach {
                    invariant: "12.3 value conserved",
                    detail: format!(
                        "vaults and treasury hold {held} atoms; {} entered, {} left",
                        self.ledger.deposited, self.ledger.withdrawn
                    ),
                })
            }
        };
        let book = self
            .bank
            .account(&self.market.order_book)
            .await
            .map(|account| perps_client::accounts::order_book(&account.data));
        let book_matches = || match &book {
            Some(Ok(book)) => invariants::open_orders_match_book(&positions, &book.book),
            _ => Err(Breach {
                invariant: "12.7 open-order totals = the book",
                detail: "the order book cannot be read".into(),
            }),
        };
        // What each keeper transaction broke, judged from the accounts around it (§12.6).
        let keeper_breach = self
            .keepers
            .iter_mut()
            .flat_map(|k| std::mem::take(&mut k.chain.breaches))
            .next();
        // After every step; `no_unbacked_loss` because the keepers have run at `price`. The
        // ranking's check runs in the recorder, when a keeper has just ranked a whole sweep.
        let breach = invariants::vault_matches_positions(&market, &positions, vault)
            .and_then(|()| invariants::open_interest_balanced(&market, &positions))
            .and_then(|()| conserved())
            .and_then(|()| invariants::no_unbacked_loss(&market, &positions, price))
            .and_then(|()| invariants::adl_book_matches_market(&market))
            .and_then(|()| invariants::registry_lists_every_position(&registry, &positions))
            .and_then(|()| self.summary.adl_candidates_solvent())
            .and_then(|()| keeper_breach.map_or(Ok(()), Err))
            .and_then(|()| book_matches())
            .err();
        if breach.is_none() {
            self.summary.steps_held += 1;
        }
        let low = self
            .keepers
            .iter_mut()
            .filter_map(|k| k.chain.insurance_low.take())
            .fold(insurance, u64::min);
        self.summary
            .observe_insurance(low.min(insurance), insurance);
        if market.is_adl_pending() {
            self.summary.steps_ending_in_adl += 1;
            // Left in ADL because nothing can be deleveraged at this price, or because the
            // keepers' passes of the step were used up first?
            let step = next_adl_step(
                &self.market.keys(),
                &market,
                &registry,
                &positions,
                price,
                insurance,
            );
            if step == AdlStep::Wait {
                self.summary.steps_in_adl_without_candidate += 1;
            }
        }
        let now = self.summary.counts();
        let row = Row {
            step,
            time_secs: (step as i64 + 1) * self.scenario.step_secs,
            oracle_usd: usd,
            insurance_atoms: insurance,
            open_interest_lots: market.open_interest_long,
            trades: now.trades - before.trades,
            liquidations: now.liquidations - before.liquidations,
            bankruptcies: now.bankruptcies - before.bankruptcies,
            adl_fills: now.adl_fills - before.adl_fills,
            adl_pending: market.is_adl_pending(),
            status: market.status,
        };
        (row, breach)
    }
}

/// A wallet with a position in `market` holding `collateral`.
async fn open_funded(
    ctx: &mut TestContext,
    market: &MarketFixture,
    keypair: Keypair,
    collateral: u64,
) -> Wallet {
    let wallet = ctx.wallet_of(keypair, collateral).await;
    ctx.open_position(market, &wallet)
        .await
        .expect("open_position");
    ctx.deposit(market, &wallet, collateral)
        .await
        .expect("deposit");
    wallet
}

/// While the market is in ADL or not active, the program takes only risk-reducing orders.
fn takes_only_reducing_orders(market: &Market) -> bool {
    market.is_adl_pending() || !matches!(market.status(), Ok(MarketStatus::Active))
}

/// Registry slots for a run of `positions` positions: the next power of two with a margin, and
/// no fewer than `MIN_REGISTRY_CAPACITY`.
fn registry_capacity(positions: u32) -> u32 {
    (positions + REGISTRY_MARGIN)
        .next_power_of_two()
        .max(MIN_REGISTRY_CAPACITY)
}

/// The side that adds to a position of sign `sign` (bid for long).
fn side_of(sign: i64) -> OrderSide {
    if sign > 0 {
        OrderSide::Bid
    } else {
        OrderSide::Ask
    }
}

/// A USD price in the feed's units.
fn feed_price(usd: f64) -> i64 {
    (usd * 10f64.powi(-FEED_EXPO)).round() as i64
}
