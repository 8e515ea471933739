//! The adversarial property test (issue 13; DESIGN.md §12): random sequences of actions through
//! the real program in the bank, by honest traders and market makers, a keeper, and an attacker
//! who controls several accounts and tries what the loss waterfall was drained by: trades between
//! its own accounts at the band edges, withdrawing everything and then paying fees out of
//! negative collateral, dust positions of one lot at the band edges, selling into its own bid and
//! liquidating with a sibling (in one transaction and back to back), deposits into an account the
//! ADL book just took over, donations to the insurance vault, front-running the keeper's
//! liquidations of its own accounts (not of honest ones: a liquidator's discount on an honest
//! position is honest income), closing and reopening its accounts while a sweep runs (registry
//! slots freed and reused), and steering ADL: ranking chunks that leave a position out, reorder
//! it or rank a slot twice, `adl` before the sweep is complete, and `adl` with the ranking's
//! entries skipped, reordered or replaced by its own accounts, each of which must be refused by
//! name. Prices move (small steps and gaps), funding is cranked, the keeper liquidates (every
//! bankruptcy the vault cannot cover goes into the market's ADL book, none refused) and drives
//! ADL with the client's own decisions (`perps_client::adl::next_adl_step`), sending each sweep's
//! ranking in chunks of random sizes, shuffled.
//!
//! After every transaction: every invariant of `perps_testkit::invariants` that holds after any
//! transaction (§12.1, §12.2, §12.3, §12.4 per transaction, §12.6 for the insurance vault's
//! outflows, §12.7, the ADL book belonging to the market, the registry listing every position, an
//! `adl` step touching only the ranked positions it was given), and §12.9: the attacker's value (its wallets plus the equity
//! of its positions at the oracle, each counted at no less than zero: a loss beyond an account's
//! collateral is not the attacker's to pay) grows only in the transactions that move the oracle.
//! Maker fees are set to zero in this market (a rebate would be honest income), the taker fee
//! stays (it only takes from the attacker); honest takers trade at the oracle price and honest
//! quotes are pulled before every price move, so no honest order ever hands the attacker a
//! price better than the oracle; funding is income only at the rate honest liquidity sets (the
//! crank's rate recomputed from the book without the attacker's orders). After each action and
//! the keeper's round: no unbacked loss, and a market still in ADL has nothing left to do (no
//! eligible position to rank against). Right after each sweep is ranked: the on-chain ranking is
//! the top of every eligible position.
//!
//! `cargo test -p perps-tests attack` runs 200 sequences (seeds 0..200). Environment:
//! `PERPS_ATTACK_SEQUENCES=5000` for a long run, `PERPS_ATTACK_FIRST_SEED=n` to start elsewhere,
//! `PERPS_ATTACK_SEED=n` to replay one sequence (the failure message prints it),
//! `PERPS_ATTACK_VERBOSE=1` to print each sequence's actions. The attacker's one-lot quotes
//! around a crank (in one transaction or back to back), which set the funding rate to its cap
//! when the mark was the book's mid, now move nothing (DESIGN.md §10); the honest funding index a
//! crank is judged against comes from a premium clock kept beside the market's, sampled when the
//! program samples, without the attacker's orders.

use std::collections::HashSet;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use perps::error::PerpsError;
use perps::state::{Market, OrderBook, Position};
use perps_client::adl::{next_adl_step, AdlStep};
use perps_client::{
    accounts as decode, instructions as ix, pda, OrderSide, OrderType, PlaceOrderArgs,
};
use perps_engine::{funding, OracleUse, Price, RatePpm};
use perps_testkit::invariants::{self, MarketState};
use perps_testkit::*;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_instruction::Instruction;
use solana_signer::Signer;

/// Sequences in the normal test run.
const DEFAULT_SEQUENCES: u64 = 200;
/// One price tick of the default market: a cent a lot (10 USD of BTC).
const TICK: u64 = 10_000;
/// BTC at 60,000 USD: 60 USDC a lot of 0.001 BTC, 6,000 ticks.
const START_TICKS: u64 = 6_000;
/// What rounding may hand the attacker in one transaction, in atoms. Every rounding in the
/// program goes against the position (DESIGN.md §5), and none was seen to favour it: zero.
const DUST: i128 = 0;
/// Keeper rounds after an action, at most (a round liquidates, or drives ADL, or both).
const KEEPER_ROUNDS: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Keeper,
    Maker,
    Trader,
    Attacker,
}

struct Actor {
    wallet: Wallet,
    position: Pubkey,
    role: Role,
}

struct Config {
    seeds: Vec<u64>,
    verbose: bool,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Config {
    fn from_env() -> Self {
        let seeds = match env_u64("PERPS_ATTACK_SEED") {
            Some(seed) => vec![seed],
            None => {
                let first = env_u64("PERPS_ATTACK_FIRST_SEED").unwrap_or(0);
                let count = env_u64("PERPS_ATTACK_SEQUENCES").unwrap_or(DEFAULT_SEQUENCES);
                (first..first + count).collect()
            }
        };
        Config {
            seeds,
            verbose: env_flag("PERPS_ATTACK_VERBOSE"),
        }
    }
}

/// The accounts of the market as read after a transaction.
struct Snapshot {
    market: Market,
    positions: Vec<(Pubkey, Position)>,
    book: Box<OrderBook>,
    registry: decode::Registry,
    vault: u64,
    insurance: u64,
    treasury: u64,
    /// Each actor's token balance, in actor order.
    wallets: Vec<u64>,
    price: Price,
}

impl Snapshot {
    fn position(&self, key: &Pubkey) -> Option<&Position> {
        self.positions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p)
    }

    fn tokens(&self) -> u128 {
        self.vault as u128
            + self.insurance as u128
            + self.treasury as u128
            + self.wallets.iter().map(|w| *w as u128).sum::<u128>()
    }
}

/// Counts over a run, to show what the sequences reached.
#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    transactions: u64,
    refused: u64,
    attacker_transactions: u64,
    attacker_refused: u64,
    liquidations: u64,
    insurance_payments: u64,
    /// Bankruptcies the vault could not cover, taken into the ADL book; times the market
    /// entered ADL; ADL books closed.
    bankruptcies_into_book: u64,
    adl_entered: u64,
    adl_completed: u64,
    /// Sweeps ranked by the keeper, and the ranking transactions they took.
    sweeps_ranked: u64,
    rank_transactions: u64,
    adl_steps: u64,
    /// Attempts to steer ADL (a chunk leaving a position out or reordering it, a slot ranked
    /// twice, `adl` early, out of order or with other accounts), each refused by name.
    steering_refused: u64,
    /// Attacker accounts closed (and reopened) while the market was in ADL, and keeper ranking
    /// chunks that a close mid-sweep made stale (refused; the keeper read the registry again).
    closed_during_adl: u64,
    stale_chunks: u64,
    funding_cranks: u64,
    bundles_landed: u64,
    /// Liquidations of an attacker account, by the keeper or by a sibling.
    attacker_liquidated: u64,
    sibling_liquidations: u64,
    /// Insurance payments into an attacker account, attacker accounts taken into the ADL book,
    /// and deposits into such an account while the book held its lots.
    attacker_insured: u64,
    attacker_into_book: u64,
    deposits_after_takeover: u64,
    largest_price_gain: i128,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.transactions += other.transactions;
        self.refused += other.refused;
        self.attacker_transactions += other.attacker_transactions;
        self.attacker_refused += other.attacker_refused;
        self.liquidations += other.liquidations;
        self.insurance_payments += other.insurance_payments;
        self.bankruptcies_into_book += other.bankruptcies_into_book;
        self.adl_entered += other.adl_entered;
        self.adl_completed += other.adl_completed;
        self.sweeps_ranked += other.sweeps_ranked;
        self.rank_transactions += other.rank_transactions;
        self.adl_steps += other.adl_steps;
        self.steering_refused += other.steering_refused;
        self.closed_during_adl += other.closed_during_adl;
        self.stale_chunks += other.stale_chunks;
        self.funding_cranks += other.funding_cranks;
        self.bundles_landed += other.bundles_landed;
        self.attacker_liquidated += other.attacker_liquidated;
        self.sibling_liquidations += other.sibling_liquidations;
        self.attacker_insured += other.attacker_insured;
        self.attacker_into_book += other.attacker_into_book;
        self.deposits_after_takeover += other.deposits_after_takeover;
        self.largest_price_gain = self.largest_price_gain.max(other.largest_price_gain);
    }
}

/// What one sequence does, played against one bank.
struct Run {
    ctx: TestContext,
    m: MarketFixture,
    rng: ChaCha8Rng,
    actors: Vec<Actor>,
    keeper: usize,
    makers: Vec<usize>,
    traders: Vec<usize>,
    attacker: Vec<usize>,
    ticks: u64,
    /// The state after the last transaction.
    last: Snapshot,
    /// Tokens in every account the run knows, fixed once set up (§12.3).
    tokens: u128,
    /// Each transaction, with its outcome.
    log: Vec<String>,
    /// A distinct compute-unit price per transaction, so that no two are identical.
    nonce: u64,
    next_client_id: u64,
    stats: Stats,
    /// The market's funding premium clock as it would be without the attacker's orders.
    honest_clock: funding::PremiumClock,
    /// Why the last refused transaction was refused.
    last_error: Option<TxError>,
}

/// Why a sequence failed.
type Failure = String;

fn keypair(rng: &mut ChaCha8Rng) -> TestKeypair {
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    TestKeypair::new_from_array(secret)
}

/// A wallet of `wallet_atoms` with a position holding `deposit` of them.
async fn open(
    ctx: &mut TestContext,
    m: &MarketFixture,
    rng: &mut ChaCha8Rng,
    role: Role,
    wallet_atoms: u64,
    deposit: u64,
) -> Actor {
    let wallet = ctx.wallet_of(keypair(rng), wallet_atoms).await;
    ctx.open_position(m, &wallet).await.expect("open_position");
    if deposit > 0 {
        ctx.deposit(m, &wallet, deposit).await.expect("deposit");
    }
    let position = pda::position(&m.market, &wallet.pubkey());
    Actor {
        wallet,
        position,
        role,
    }
}

fn lot_price(ticks: u64) -> Price {
    Price(ticks * TICK)
}

fn feed_price(ticks: u64) -> i64 {
    btc(ticks as i64 * 10)
}

fn opposite(side: OrderSide) -> OrderSide {
    match side {
        OrderSide::Bid => OrderSide::Ask,
        OrderSide::Ask => OrderSide::Bid,
    }
}

/// The side that closes a position of sign `lots`.
fn closing_side(lots: i64) -> OrderSide {
    if lots > 0 {
        OrderSide::Ask
    } else {
        OrderSide::Bid
    }
}

/// Where a `liquidate` instruction carries the liquidated position and the liquidator's own,
/// read off the builder.
fn liquidate_account_indexes() -> (usize, usize) {
    let (liquidator, target) = (Pubkey::new_unique(), Pubkey::new_unique());
    let keys = perps_client::instructions::MarketKeys {
        program_id: perps::ID,
        market: Pubkey::new_unique(),
        order_book: Pubkey::new_unique(),
        registry: Pubkey::new_unique(),
        oracle: Pubkey::new_unique(),
        treasury: Pubkey::new_unique(),
    };
    let instruction = perps_client::instructions::liquidate(&liquidator, &keys, &target);
    let at = |key: Pubkey| {
        instruction
            .accounts
            .iter()
            .position(|m| m.pubkey == key)
            .expect("in the instruction")
    };
    (
        at(target),
        at(perps_client::pda::position(&keys.market, &liquidator)),
    )
}

fn is(instruction: &Instruction, discriminator: &[u8]) -> bool {
    instruction.program_id == perps::ID && instruction.data.starts_with(discriminator)
}

fn params() -> perps::state::MarketParams {
    let mut params = default_params();
    // A maker rebate is honest income the attacker could earn from honest takers; without it
    // every trading fee only takes from the attacker.
    params.maker_fee_bps = 0;
    // Funding that matters within a few cranks (up to 5% an interval, the spec allows 10%).
    params.max_funding_rate_ppm = 50_000;
    params.max_open_interest_lots = 100_000_000;
    params
}

impl Run {
    async fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut ctx = TestContext::with_exchange().await;
        let m = ctx
            .create_market_with(params(), feed_price(START_TICKS))
            .await;
        let insurance = match rng.random_range(0..3) {
            0 => 0,
            1 => rng.random_range(1..100) * USDC,
            _ => rng.random_range(1_000..20_000) * USDC,
        };
        if insurance > 0 {
            ctx.fund_insurance(&m, insurance).await;
        }
        let mut actors = Vec::new();
        let keeper = 0;
        actors.push(
            open(
                &mut ctx,
                &m,
                &mut rng,
                Role::Keeper,
                10_000_000 * USDC,
                10_000_000 * USDC,
            )
            .await,
        );
        let mut makers = Vec::new();
        for _ in 0..2 {
            makers.push(actors.len());
            actors.push(
                open(
                    &mut ctx,
                    &m,
                    &mut rng,
                    Role::Maker,
                    1_000_000 * USDC,
                    1_000_000 * USDC,
                )
                .await,
            );
        }
        let mut traders = Vec::new();
        for _ in 0..rng.random_range(2..=3) {
            let collateral = rng.random_range(200..5_000) * USDC;
            traders.push(actors.len());
            actors.push(open(&mut ctx, &m, &mut rng, Role::Trader, collateral, collateral).await);
        }
        let mut attacker = Vec::new();
        for i in 0..rng.random_range(3..=6) {
            // The first two are dust accounts: a few USDC, for one-lot positions.
            let funds = if i < 2 {
                rng.random_range(2..25) * USDC
            } else {
                rng.random_range(100..5_000) * USDC
            };
            let deposit = funds / 100 * rng.random_range(40..=100);
            attacker.push(actors.len());
            actors.push(open(&mut ctx, &m, &mut rng, Role::Attacker, funds, deposit).await);
        }
        let placeholder = Snapshot {
            market: ctx.market(&m.market).await,
            positions: Vec::new(),
            book: ctx.order_book(&m.order_book).await,
            registry: ctx.registry(&m.registry).await,
            vault: 0,
            insurance: 0,
            treasury: 0,
            wallets: Vec::new(),
            price: lot_price(START_TICKS),
        };
        let mut run = Run {
            ctx,
            m,
            rng,
            actors,
            keeper,
            makers,
            traders,
            attacker,
            ticks: START_TICKS,
            last: placeholder,
            tokens: 0,
            log: Vec::new(),
            nonce: 0,
            next_client_id: 1,
            stats: Stats::default(),
            honest_clock: funding::PremiumClock::default(),
            last_error: None,
        };
        run.last = run.snapshot().await;
        run.honest_clock = funding::PremiumClock {
            premium_ppm: run.last.market.funding_premium_ppm,
            sampled_at: run.last.market.funding_sample_time,
            sum: run.last.market.funding_premium_sum,
        };
        run.tokens = run.last.tokens();
        // The test's price is the program's.
        let feed = run.ctx.account(&run.m.oracle).await.expect("feed");
        let now = run.ctx.clock().await.unix_timestamp;
        let read = perps_client::oracle::oracle_price(
            &run.m.market,
            &run.last.market,
            &feed.owner,
            &feed.data,
            now,
            OracleUse::Liquidation,
        );
        assert_eq!(read, Ok(lot_price(START_TICKS)));
        run
    }

    async fn snapshot(&mut self) -> Snapshot {
        let market = self.ctx.market(&self.m.market).await;
        let mut positions = Vec::new();
        for i in 0..self.actors.len() {
            let key = self.actors[i].position;
            if let Some(account) = self.ctx.account(&key).await {
                positions.push((key, decode::position(&account.data).expect("position")));
            }
        }
        let mut wallets = Vec::new();
        for i in 0..self.actors.len() {
            let token = self.actors[i].wallet.token;
            wallets.push(self.ctx.token_balance(&token).await);
        }
        Snapshot {
            market,
            positions,
            book: self.ctx.order_book(&self.m.order_book).await,
            registry: self.ctx.registry(&self.m.registry).await,
            vault: self.ctx.token_balance(&self.m.collateral_vault).await,
            insurance: self.ctx.token_balance(&self.m.insurance_vault).await,
            treasury: self.ctx.token_balance(&self.m.treasury).await,
            wallets,
            price: lot_price(self.ticks),
        }
    }

    fn is_attacker(&self, position: &Pubkey) -> bool {
        self.attacker
            .iter()
            .any(|&i| self.actors[i].position == *position)
    }

    /// The attacker's value in `snapshot`, judged with `market` (its funding index): wallets
    /// plus each position's equity at the oracle, none counted below zero.
    fn attacker_value(&self, snapshot: &Snapshot, market: &Market) -> i128 {
        self.attacker
            .iter()
            .map(|&i| {
                let wallet = snapshot.wallets[i] as i128;
                let equity = snapshot.position(&self.actors[i].position).map_or(0, |p| {
                    invariants::equity_at(market, p, snapshot.price).expect("equity")
                });
                wallet + equity.max(0)
            })
            .sum()
    }

    /// The book's impact premium (DESIGN.md §10) at `oracle` without the attacker's orders.
    fn honest_premium(&self, book: &OrderBook, market: &Market, oracle: Price) -> i64 {
        let attacker: HashSet<[u8; 32]> = self
            .attacker
            .iter()
            .map(|&i| self.actors[i].position.to_bytes())
            .collect();
        let honest = |side: perps_engine::OrderSide| -> Vec<_> {
            book.book
                .side(side)
                .orders()
                .iter()
                .filter(|o| !attacker.contains(&o.maker))
                .copied()
                .collect()
        };
        let tiers = market.params.margin_tiers().expect("tiers");
        let notional = funding::impact_notional(market.quote_decimals, &tiers).expect("notional");
        funding::impact_premium_of(
            &honest(perps_engine::OrderSide::Bid),
            &honest(perps_engine::OrderSide::Ask),
            oracle,
            RatePpm(market.params.price_band_ppm),
            notional,
        )
        .expect("premium")
    }

    /// Follows the program's funding premium clock with the attacker's orders left out: sampled
    /// whenever the program samples (the time and oracle it stored), so with no attacker orders
    /// it equals the market's own clock.
    fn follow_honest_premium(&self, clock: &mut funding::PremiumClock, after: &Snapshot) {
        let (now, oracle) = (
            after.market.funding_sample_time,
            after.market.funding_sample_oracle,
        );
        let premium = match oracle {
            0 => 0,
            oracle => self.honest_premium(&after.book, &after.market, Price(oracle)),
        };
        clock.sample(now, premium).expect("sample");
    }

    /// The funding index the crank that led from `before` to `after` would have reached had the
    /// book held only honest orders all interval: the program's computation over the honest
    /// premium clock (the crank closes the interval at the premium that held through it).
    fn honest_funding_index(
        &self,
        clock: &mut funding::PremiumClock,
        before: &Snapshot,
        after: &Snapshot,
    ) -> i64 {
        let market = &before.market;
        let now = after.market.last_funding_time;
        let oracle = Price(after.market.funding_sample_oracle);
        let elapsed = now - market.last_funding_time;
        let premium = self.honest_premium(&after.book, &after.market, oracle);
        clock.sample(now, premium).expect("sample");
        let average = clock.take_average(elapsed).expect("average");
        let rate = funding::rate_from_premium(average, RatePpm(market.params.max_funding_rate_ppm));
        let interval = market.params.funding_interval_secs;
        market.funding_index
            + funding::funding_index_delta(rate, oracle, elapsed.min(interval as i64), interval)
                .expect("delta")
    }

    /// Sends one transaction signed by `signers` (actor indices); on success checks every
    /// per-transaction invariant against the state before it. `Ok(false)`: the program refused.
    async fn send(
        &mut self,
        label: &str,
        instructions: Vec<Instruction>,
        signers: &[usize],
    ) -> Result<bool, Failure> {
        self.nonce += 1;
        let mut all = vec![
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
                self.nonce,
            ),
        ];
        all.extend(instructions.iter().cloned());
        let keypairs: Vec<TestKeypair> = signers
            .iter()
            .map(|&i| self.actors[i].wallet.keypair.insecure_clone())
            .collect();
        let refs: Vec<&TestKeypair> = keypairs.iter().collect();
        let by_attacker = signers
            .iter()
            .any(|&i| self.actors[i].role == Role::Attacker);
        self.stats.transactions += 1;
        if by_attacker {
            self.stats.attacker_transactions += 1;
        }
        let result = self.ctx.send(&all, &refs).await;
        if let Err(error) = result {
            self.stats.refused += 1;
            if by_attacker {
                self.stats.attacker_refused += 1;
            }
            self.log
                .push(format!("    {label}: refused ({})", describe(&error)));
            self.last_error = Some(error);
            return Ok(false);
        }
        self.log.push(format!("    {label}: ok"));
        let after = self.snapshot().await;
        // The honest premium clock follows the program's samples; a crank also closes it.
        let mut clock = self.honest_clock;
        let honest_index = if instructions
            .iter()
            .any(|i| is(i, perps::instruction::CrankFunding::DISCRIMINATOR))
        {
            Some(self.honest_funding_index(&mut clock, &self.last, &after))
        } else {
            self.follow_honest_premium(&mut clock, &after);
            None
        };
        self.honest_clock = clock;
        let before = std::mem::replace(&mut self.last, after);
        self.check_transaction(&before, &instructions, honest_index)
            .map_err(|breach| format!("after `{label}`: {breach}"))?;
        Ok(true)
    }

    /// Every invariant that holds after any transaction, `self.last` being the state after it.
    fn check_transaction(
        &mut self,
        before: &Snapshot,
        instructions: &[Instruction],
        honest_index: Option<i64>,
    ) -> Result<(), String> {
        let after = &self.last;
        let market = &after.market;
        invariants::vault_matches_positions(market, &after.positions, after.vault)
            .and_then(|()| invariants::open_interest_balanced(market, &after.positions))
            .and_then(|()| invariants::open_orders_match_book(&after.positions, &after.book.book))
            .and_then(|()| invariants::adl_book_matches_market(market))
            .and_then(|()| {
                invariants::registry_lists_every_position(&after.registry, &after.positions)
            })
            .map_err(|b| b.to_string())?;
        if after.tokens() != self.tokens {
            return Err(format!(
                "12.3 value conserved: the accounts hold {} atoms, {} were put in",
                after.tokens(),
                self.tokens
            ));
        }

        let liquidated: Vec<Pubkey> = instructions
            .iter()
            .filter(|i| is(i, perps::instruction::Liquidate::DISCRIMINATOR))
            .map(|i| i.accounts[liquidate_account_indexes().0].pubkey)
            .collect();
        let adl = instructions
            .iter()
            .any(|i| is(i, perps::instruction::Adl::DISCRIMINATOR));
        let price_move = instructions
            .iter()
            .any(|i| is(i, perps::instruction::SetPrice::DISCRIMINATOR));
        let crank = instructions
            .iter()
            .any(|i| is(i, perps::instruction::CrankFunding::DISCRIMINATOR));
        self.stats.liquidations += liquidated.len() as u64;
        if adl {
            self.stats.adl_steps += 1;
        }
        if crank {
            self.stats.funding_cranks += 1;
        }
        if !before.market.is_adl_pending() && market.is_adl_pending() {
            self.stats.adl_entered += 1;
        }
        if before.market.is_adl_pending() && !market.is_adl_pending() {
            self.stats.adl_completed += 1;
        }
        // A liquidation that moved lots into the book took its target over whole: the target
        // is left empty.
        if !liquidated.is_empty() && before.market.adl_book.base_lots != market.adl_book.base_lots {
            self.stats.bankruptcies_into_book += 1;
            let target = liquidated[0];
            if self.is_attacker(&target) {
                self.stats.attacker_into_book += 1;
            }
            if let Some(p) = after.position(&target) {
                if (p.base_lots, p.cost_basis, p.collateral) != (0, 0, 0) {
                    return Err(format!(
                        "the ADL book took {target} over but left it {} lots, cost {}, collateral {}",
                        p.base_lots, p.cost_basis, p.collateral
                    ));
                }
            }
        }
        for target in &liquidated {
            if self.is_attacker(target) {
                self.stats.attacker_liquidated += 1;
                let liquidator = instructions
                    .iter()
                    .find(|i| is(i, perps::instruction::Liquidate::DISCRIMINATOR))
                    .map(|i| i.accounts[liquidate_account_indexes().1].pubkey);
                if liquidator.is_some_and(|l| self.is_attacker(&l)) {
                    self.stats.sibling_liquidations += 1;
                }
            }
        }

        // §12.6: an insurance outflow is a liquidation's payment for a real loss.
        if after.insurance < before.insurance {
            let paid = before.insurance - after.insurance;
            self.stats.insurance_payments += 1;
            match liquidated.as_slice() {
                // The vault pays into the ADL book before any candidate is haircut (DESIGN.md
                // §7): no more than the book lacks at the oracle.
                [] if adl => {
                    invariants::insurance_pays_only_real_losses(
                        &before.market,
                        &self.m.market,
                        &before.market.adl_book,
                        before.price,
                        paid,
                    )
                    .map_err(|b| b.to_string())?;
                }
                [target] => {
                    if self.is_attacker(target) {
                        self.stats.attacker_insured += 1;
                    }
                    let position = before
                        .position(target)
                        .ok_or_else(|| format!("liquidated {target} did not exist"))?;
                    invariants::insurance_pays_only_real_losses(
                        &before.market,
                        target,
                        position,
                        before.price,
                        paid,
                    )
                    .map_err(|b| b.to_string())?;
                }
                _ => {
                    return Err(format!(
                        "12.6 insurance pays only real losses: the vault paid {paid} atoms in a transaction with {} liquidations",
                        liquidated.len()
                    ))
                }
            }
        }

        // An `adl` step takes only from the ranked positions it was given: every other
        // position keeps its lots, cost and collateral.
        if adl {
            let given: HashSet<Pubkey> = instructions
                .iter()
                .filter(|i| is(i, perps::instruction::Adl::DISCRIMINATOR))
                .flat_map(perps_client::adl::entries_in_step)
                .collect();
            for (key, now) in &after.positions {
                if given.contains(key) {
                    continue;
                }
                if let Some(was) = before.position(key) {
                    if (was.base_lots, was.cost_basis, was.collateral)
                        != (now.base_lots, now.cost_basis, now.collateral)
                    {
                        return Err(format!(
                            "an adl step changed {key}, which it was not given: lots {} → {}, collateral {} → {}",
                            was.base_lots, now.base_lots, was.collateral, now.collateral
                        ));
                    }
                }
            }
        }

        // §12.4 per transaction.
        // ADL is exempt for no one: a candidate gives only what leaves it healthy.
        let exempt = liquidated.clone();
        invariants::no_position_pushed_below_maintenance(
            MarketState {
                market: &before.market,
                positions: &before.positions,
                price: before.price,
            },
            MarketState {
                market,
                positions: &after.positions,
                price: after.price,
            },
            &exempt,
        )
        .map_err(|b| b.to_string())?;

        // §12.9: the attacker's value grows only with the oracle (and by funding at the rate
        // honest quotes set).
        let value_after = self.attacker_value(after, market);
        if price_move {
            let gain = value_after - self.attacker_value(before, &before.market);
            self.stats.largest_price_gain = self.stats.largest_price_gain.max(gain);
            return Ok(());
        }
        let (reference, how) = if crank {
            let mut honest = before.market;
            honest.funding_index = honest_index.expect("a crank's honest index");
            (
                self.attacker_value(before, &honest),
                format!(
                    " (funding index {} → {}; at the honest book's mark it would be {})",
                    before.market.funding_index, market.funding_index, honest.funding_index
                ),
            )
        } else {
            (self.attacker_value(before, &before.market), String::new())
        };
        let gain = value_after - reference;
        if gain > DUST {
            let mut detail = String::new();
            for &i in &self.attacker {
                let key = self.actors[i].position;
                let equity = |s: &Snapshot| {
                    s.position(&key)
                        .and_then(|p| invariants::equity_at(&s.market, p, s.price))
                };
                detail.push_str(&format!(
                    "\n      attacker {i}: wallet {} → {}, equity {:?} → {:?}, lots {:?} → {:?}, collateral {:?} → {:?}",
                    before.wallets[i],
                    after.wallets[i],
                    equity(before),
                    equity(after),
                    before.position(&key).map(|p| p.base_lots),
                    after.position(&key).map(|p| p.base_lots),
                    before.position(&key).map(|p| p.collateral),
                    after.position(&key).map(|p| p.collateral),
                ));
            }
            return Err(format!(
                "12.9 attacker value grew by {gain} atoms without a price move{how} (insurance {} → {}){detail}",
                before.insurance, after.insurance
            ));
        }
        Ok(())
    }

    /// What only holds once the keeper has run at the current price: no position holds a loss,
    /// and a market still in ADL has nothing the keeper could do (no eligible position).
    fn check_after_keeper(&self) -> Result<(), Failure> {
        let s = &self.last;
        invariants::no_unbacked_loss(&s.market, &s.positions, s.price)
            .map_err(|b| format!("after the keeper's round: {b}"))?;
        let step = next_adl_step(
            &self.m.keys(),
            &s.market,
            &s.registry,
            &s.positions,
            s.price,
            s.insurance,
        );
        if step != AdlStep::Wait {
            return Err(format!(
                "after the keeper's round the market is still in ADL (book {} lots) with work left: {step:?}",
                s.market.adl_book.base_lots
            ));
        }
        Ok(())
    }

    fn client_id(&mut self) -> u64 {
        self.next_client_id += 1;
        self.next_client_id
    }

    fn order(
        &mut self,
        side: OrderSide,
        price: u64,
        lots: u64,
        order_type: OrderType,
        reduce_only: bool,
    ) -> PlaceOrderArgs {
        PlaceOrderArgs {
            side,
            price,
            lots,
            order_type,
            reduce_only,
            client_order_id: self.client_id(),
        }
    }

    /// `place_order` for actor `who` with the accounts it may need on the current book.
    fn place_ix(&self, who: usize, args: PlaceOrderArgs) -> Instruction {
        let owner = self.actors[who].wallet.pubkey();
        let accounts =
            perps_client::book::order_accounts(&self.last.book, &self.actors[who].position, &args);
        ix::place_order(&owner, &self.m.keys(), args, &accounts)
    }

    async fn place(
        &mut self,
        label: &str,
        who: usize,
        args: PlaceOrderArgs,
    ) -> Result<bool, Failure> {
        let instruction = self.place_ix(who, args);
        self.send(label, vec![instruction], &[who]).await
    }

    async fn cancel_all(&mut self, who: usize) -> Result<(), Failure> {
        let has_orders = self
            .last
            .position(&self.actors[who].position)
            .is_some_and(|p| p.open_order_count > 0);
        if has_orders {
            let owner = self.actors[who].wallet.pubkey();
            let instruction = ix::cancel_all_orders(&owner, &self.m.keys());
            self.send(&format!("{who} cancels all"), vec![instruction], &[who])
                .await?;
        }
        Ok(())
    }

    fn most_profitable_attacker(&self) -> usize {
        let price = self.price();
        *self
            .attacker
            .iter()
            .max_by_key(|&&i| {
                self.last
                    .position(&self.actors[i].position)
                    .and_then(|p| p.state().unrealized_pnl(price).ok())
                    .map_or(i128::MIN, |u| u.0)
            })
            .expect("an attacker account")
    }

    /// `who`'s equity at the oracle (funding settled), 0 without a position.
    fn equity_of(&self, who: usize) -> i128 {
        self.last
            .position(&self.actors[who].position)
            .and_then(|p| invariants::equity_at(&self.last.market, p, self.price()))
            .unwrap_or(0)
    }

    fn lots_of(&self, who: usize) -> i64 {
        self.last
            .position(&self.actors[who].position)
            .map_or(0, |p| p.base_lots)
    }

    fn price(&self) -> Price {
        lot_price(self.ticks)
    }

    /// The lowest bid and the highest ask inside the band, on the tick grid.
    fn band_edges(&self) -> (u64, u64) {
        let band = params().price_band_ppm as u64;
        let low = (self.ticks * (1_000_000 - band)).div_ceil(1_000_000);
        let high = self.ticks * (1_000_000 + band) / 1_000_000;
        (low * TICK, high * TICK)
    }

    /// The band edge for an order on `side`: the one worst for its owner (a bid at the top,
    /// an ask at the bottom) or the other.
    fn edge(&self, side: OrderSide, worst_for_owner: bool) -> u64 {
        let (low, high) = self.band_edges();
        match (side, worst_for_owner) {
            (OrderSide::Bid, true) | (OrderSide::Ask, false) => high,
            (OrderSide::Bid, false) | (OrderSide::Ask, true) => low,
        }
    }

    /// As many lots as initial margin allows `who` in all, cut as a client does.
    fn affordable(&self, who: usize, lots: u64) -> u64 {
        let Some(position) = self.last.position(&self.actors[who].position) else {
            return 0;
        };
        perps_client::sizing::affordable_lots(&self.last.market, position, self.price(), lots)
    }

    // ---- honest actions ----

    /// Market makers quote around the oracle (two levels a side, post-only); now and then one
    /// stays out, so the book is sometimes thin or empty.
    async fn makers_quote(&mut self) -> Result<(), Failure> {
        for k in 0..self.makers.len() {
            let who = self.makers[k];
            if self.rng.random_bool(0.3) {
                continue;
            }
            let mut instructions = Vec::new();
            for level in [1 + k as u64, 3 + k as u64] {
                let lots = self.rng.random_range(5..60);
                for (side, ticks) in [
                    (OrderSide::Bid, self.ticks - level),
                    (OrderSide::Ask, self.ticks + level),
                ] {
                    let args = self.order(side, ticks * TICK, lots, OrderType::PostOnly, false);
                    instructions.push(ix::place_order(
                        &self.actors[who].wallet.pubkey(),
                        &self.m.keys(),
                        args,
                        &[],
                    ));
                }
            }
            self.send(&format!("maker {who} quotes"), instructions, &[who])
                .await?;
        }
        Ok(())
    }

    async fn makers_pull(&mut self) -> Result<(), Failure> {
        for k in 0..self.makers.len() {
            self.cancel_all(self.makers[k]).await?;
        }
        Ok(())
    }

    /// Two honest accounts trade at the oracle: one rests, the other takes, the rest is pulled.
    async fn honest_cross(
        &mut self,
        resting: usize,
        taking: usize,
        side: OrderSide,
        lots: u64,
        reduce_only: bool,
    ) -> Result<(), Failure> {
        let price = self.price().0;
        let rest = self.order(opposite(side), price, lots, OrderType::PostOnly, false);
        self.place(
            &format!("{resting} rests {lots} at the oracle"),
            resting,
            rest,
        )
        .await?;
        let take = self.order(side, price, lots, OrderType::ImmediateOrCancel, reduce_only);
        self.place(
            &format!("{taking} takes {lots} {side:?} at the oracle"),
            taking,
            take,
        )
        .await?;
        self.cancel_all(resting).await
    }

    /// Advances the clock by `seconds` and pushes the price of `ticks`.
    async fn push_price(&mut self, ticks: u64, seconds: i64) -> Result<(), Failure> {
        self.ctx.advance_clock(seconds).await;
        self.ticks = ticks;
        let authority = self.ctx.oracle_authority.insecure_clone();
        let instruction = ix::set_price(&authority.pubkey(), &self.m.oracle, feed_price(ticks), 0);
        // Signed by the oracle authority (not an actor): sent directly, then checked.
        self.nonce += 1;
        let all = vec![
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
                self.nonce,
            ),
            instruction.clone(),
        ];
        self.stats.transactions += 1;
        self.ctx
            .send(&all, &[&authority])
            .await
            .map_err(|e| format!("set_price refused: {e:?}"))?;
        self.log
            .push(format!("    price → {ticks} ticks (+{seconds} s): ok"));
        let after = self.snapshot().await;
        let before = std::mem::replace(&mut self.last, after);
        // A price move changes no book and takes no sample: the honest clock stays as it is.
        self.check_transaction(&before, &[instruction], None)
            .map_err(|b| format!("after the price move: {b}"))
    }

    /// The keeper liquidates what the engine says is liquidatable (most under-margined first;
    /// a bankruptcy the vault cannot cover goes into the ADL book, never refused) and drives ADL
    /// with the client's `next_adl_step`, round after round until nothing is left to do. Each
    /// sweep's ranking goes out in chunks of random sizes, shuffled; right after it, the ranking
    /// must be the top of every eligible position. Before the keeper's ranking and its fills, the
    /// attacker may try to steer them.
    async fn keeper_round(&mut self) -> Result<(), Failure> {
        let keeper = self.keeper;
        let keeper_owner = self.actors[keeper].wallet.pubkey();
        for _ in 0..KEEPER_ROUNDS {
            let mut progressed = false;
            let step = next_adl_step(
                &self.m.keys(),
                &self.last.market,
                &self.last.registry,
                &self.last.positions,
                self.price(),
                self.last.insurance,
            );
            match step {
                AdlStep::Wait => {}
                AdlStep::Rank(chunks) => {
                    self.rank_sweep(chunks).await?;
                    progressed = true;
                }
                AdlStep::Fill(steps) => {
                    if self.rng.random_bool(0.5) {
                        self.attacker_steers_the_fills(&steps[0]).await?;
                    }
                    for instruction in steps {
                        if self.send("keeper adl", vec![instruction], &[]).await? {
                            progressed = true;
                        } else {
                            break;
                        }
                    }
                }
            }
            for target in liquidatable(&self.last, self.price()) {
                if target == self.actors[keeper].position {
                    continue;
                }
                let instruction = ix::liquidate(&keeper_owner, &self.m.keys(), &target);
                let label = format!("keeper liquidates {target}");
                let book_lots = self.last.market.adl_book.base_lots;
                if self.send(&label, vec![instruction], &[keeper]).await? {
                    progressed = true;
                    if self.last.market.adl_book.base_lots != book_lots {
                        self.attacker_reacts_to_the_takeover(target).await?;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        self.check_after_keeper()
    }

    /// Sends one transaction that must be refused with `expected` (an attempt to steer ADL);
    /// one that lands, or is refused for another reason, fails the sequence.
    async fn expect_refusal(
        &mut self,
        label: &str,
        instruction: Instruction,
        expected: PerpsError,
    ) -> Result<(), Failure> {
        // Permissionless: no signer but the fee payer. Counted as the attacker's.
        self.stats.attacker_transactions += 1;
        self.stats.attacker_refused += 1;
        if self.send(label, vec![instruction], &[]).await? {
            return Err(format!(
                "`{label}` landed; it must be refused with {expected:?}"
            ));
        }
        match self.last_error.take() {
            Some(TxError::InstructionError(_, InstructionError::Custom(code)))
                if code == perps_code(expected) =>
            {
                self.stats.steering_refused += 1;
                Ok(())
            }
            other => Err(format!(
                "`{label}` was refused with {other:?}, not {expected:?}"
            )),
        }
    }

    /// The keeper's ranking of the current sweep: its chunks cut again at random slots and sent
    /// shuffled (chunks may land in any order), with the attacker's attempts to steer it in
    /// between: `adl` before the last chunk, a chunk leaving a position out or swapping two, a
    /// chunk of slots already ranked, and once ranked, any chunk at all. The attacker may also
    /// close (and reopen) an empty account mid-sweep; a keeper chunk read before that may then be
    /// refused, and the keeper reads the registry again and ranks what is left.
    async fn rank_sweep(&mut self, chunks: Vec<Instruction>) -> Result<(), Failure> {
        let mut chunks = chunks;
        for attempt in 0.. {
            if self.rank_pieces(chunks).await? {
                break;
            }
            if attempt == 4 {
                return Err("the keeper could not finish a sweep in five readings".into());
            }
            chunks = match next_adl_step(
                &self.m.keys(),
                &self.last.market,
                &self.last.registry,
                &self.last.positions,
                self.price(),
                self.last.insurance,
            ) {
                AdlStep::Rank(chunks) => chunks,
                // The account reopened mid-sweep took the last unranked slot, which counts as
                // ranked: the sweep is complete.
                _ => break,
            };
        }
        self.stats.sweeps_ranked += 1;
        let s = &self.last;
        if !s.registry.header.is_ranked() {
            return Err("the keeper's chunks left the sweep unranked".into());
        }
        invariants::ranking_is_the_top_of_every_eligible_position(
            &s.market,
            &s.registry,
            &s.positions,
        )
        .map_err(|b| format!("right after the sweep: {b}"))?;
        if self.rng.random_bool(0.2) {
            let first = s.registry.positions().next();
            if let Some((slot, key)) = first {
                self.expect_refusal(
                    "attacker ranks a slot of a complete sweep",
                    ix::rank_adl_candidates(&self.m.keys(), slot, 1, &[key]),
                    PerpsError::RankingComplete,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Sends `chunks` cut and shuffled as `rank_sweep` says; `Ok(false)` when a keeper chunk was
    /// refused after the attacker closed an account mid-sweep (the keeper's read is stale).
    async fn rank_pieces(&mut self, chunks: Vec<Instruction>) -> Result<bool, Failure> {
        let mut pieces: Vec<(u32, u32, Vec<Pubkey>)> = Vec::new();
        for chunk in &chunks {
            let args = <perps::instruction::RankAdlCandidates as anchor_lang::AnchorDeserialize>::try_from_slice(&chunk.data[8..])
                .map_err(|e| format!("a ranking chunk does not decode: {e}"))?;
            let mut first = args.first_slot;
            let end = args.first_slot + args.slot_count;
            while first < end {
                let count = self.rng.random_range(1..=(end - first).min(12));
                let keys: Vec<Pubkey> = (first..first + count)
                    .map(|slot| self.last.registry.slots[slot as usize].position)
                    .filter(|k| *k != Pubkey::default())
                    .collect();
                pieces.push((first, count, keys));
                first += count;
            }
        }
        for i in (1..pieces.len()).rev() {
            let j = self.rng.random_range(0..=i);
            pieces.swap(i, j);
        }
        let keys = self.m.keys();
        let mut sent: Vec<(u32, u32, Vec<Pubkey>)> = Vec::new();
        let mut churned = false;
        let sweep = self.last.market.adl_sweep;
        for (n, (first, count, chunk)) in pieces.iter().enumerate() {
            // Positions of the piece at slots this sweep has not ranked: leaving one of them out
            // (or swapping two) is steering; a slot already ranked is rightly passed over.
            let unranked: Vec<usize> = chunk
                .iter()
                .enumerate()
                .filter(|(_, key)| {
                    (*first..*first + *count).any(|slot| {
                        let entry = &self.last.registry.slots[slot as usize];
                        entry.position == **key && entry.ranked_in_sweep != sweep
                    })
                })
                .map(|(i, _)| i)
                .collect();
            // After a close mid-sweep the pieces may be stale: no steering on them.
            if !churned && self.rng.random_bool(0.3) {
                let roll = self.rng.random_range(0..4);
                if roll == 0 {
                    // `adl` while slots are still unranked.
                    let supplied: Vec<Pubkey> = self
                        .attacker
                        .iter()
                        .map(|&i| self.actors[i].position)
                        .take(2)
                        .collect();
                    self.expect_refusal(
                        "attacker adl before the sweep is ranked",
                        ix::adl(&keys, &supplied),
                        PerpsError::RankingIncomplete,
                    )
                    .await?;
                } else if roll == 1 && !unranked.is_empty() {
                    // One position left out of the chunk (an honest one, or its own).
                    let mut short = chunk.clone();
                    short.remove(unranked[self.rng.random_range(0..unranked.len())]);
                    self.expect_refusal(
                        &format!("attacker ranks slots {first}+{count} leaving a position out"),
                        ix::rank_adl_candidates(&keys, *first, *count, &short),
                        PerpsError::RankingChunkMismatch,
                    )
                    .await?;
                } else if roll == 2 && unranked.len() >= 2 {
                    let mut swapped = chunk.clone();
                    let i = self.rng.random_range(0..unranked.len() - 1);
                    swapped.swap(unranked[i], unranked[i + 1]);
                    self.expect_refusal(
                        &format!("attacker ranks slots {first}+{count} out of slot order"),
                        ix::rank_adl_candidates(&keys, *first, *count, &swapped),
                        PerpsError::RankingChunkMismatch,
                    )
                    .await?;
                } else if let Some((f, c, k)) = sent.last().cloned() {
                    self.expect_refusal(
                        &format!("attacker ranks slots {f}+{c} again"),
                        ix::rank_adl_candidates(&keys, f, c, &k),
                        PerpsError::SlotAlreadyRanked,
                    )
                    .await?;
                }
            }
            let label = format!(
                "keeper ranks slots {first}+{count} ({} positions, chunk {} of {})",
                chunk.len(),
                n + 1,
                pieces.len()
            );
            if self.rng.random_bool(0.2) {
                let empty = self.attacker.iter().copied().find(|&i| {
                    self.last
                        .position(&self.actors[i].position)
                        .is_some_and(|p| {
                            (p.base_lots, p.collateral, p.open_order_count) == (0, 0, 0)
                        })
                });
                if let Some(a) = empty {
                    self.log
                        .push(format!("  attacker {a} closes an empty account mid-sweep"));
                    self.close_and_reopen(a, true).await?;
                    churned = true;
                }
            }
            let instruction = ix::rank_adl_candidates(&keys, *first, *count, chunk);
            if !self.send(&label, vec![instruction], &[]).await? {
                if churned {
                    self.stats.stale_chunks += 1;
                    return Ok(false);
                }
                return Err(format!(
                    "the keeper's ranking chunk was refused: {:?}",
                    self.last_error
                ));
            }
            self.stats.rank_transactions += 1;
            sent.push((*first, *count, chunk.clone()));
        }
        Ok(true)
    }

    /// Before the keeper's first `adl` step (`keeper_step`: the ranking's next entries in
    /// order), the attacker tries to have the book filled against other positions: the same
    /// entries with the first left out or the first two swapped, or its own accounts in place of
    /// the ranking's next.
    async fn attacker_steers_the_fills(
        &mut self,
        keeper_step: &Instruction,
    ) -> Result<(), Failure> {
        let entries = perps_client::adl::entries_in_step(keeper_step);
        let next = self
            .last
            .registry
            .header
            .unfilled()
            .first()
            .map(|e| e.position);
        let roll = self.rng.random_range(0..3);
        let supplied: Vec<Pubkey> = if roll == 0 && entries.len() >= 2 {
            entries[1..].to_vec()
        } else if roll == 1 && entries.len() >= 2 {
            let mut swapped = entries.clone();
            swapped.swap(0, 1);
            swapped
        } else {
            self.attacker
                .iter()
                .map(|&i| self.actors[i].position)
                .filter(|k| Some(*k) != next)
                .collect()
        };
        if supplied.is_empty() || supplied.first() == next.as_ref() {
            return Ok(());
        }
        let keys = self.m.keys();
        self.expect_refusal(
            &format!(
                "attacker adl with {} positions, not the ranking's next first",
                supplied.len()
            ),
            ix::adl(&keys, &supplied),
            PerpsError::AdlOutOfRankingOrder,
        )
        .await
    }

    // ---- the attacker ----

    /// When the keeper has just had the ADL book take over one of the attacker's accounts, the
    /// attacker (more often than not) deposits into the emptied account, and may then try to
    /// take collateral out again: only what it just put in may come out.
    async fn attacker_reacts_to_the_takeover(&mut self, target: Pubkey) -> Result<(), Failure> {
        if !self.rng.random_bool(0.6) {
            return Ok(());
        }
        let Some(a) = self
            .attacker
            .iter()
            .copied()
            .find(|&i| self.actors[i].position == target)
        else {
            return Ok(());
        };
        let wallet = self.last.wallets[a];
        if wallet == 0 {
            return Ok(());
        }
        let amount = self.rng.random_range(1..=wallet);
        self.log.push(format!(
            "  attacker {a}, just taken over by the ADL book, deposits {amount}"
        ));
        if self.deposit(a, amount).await? {
            self.stats.deposits_after_takeover += 1;
        }
        if self.rng.random_bool(0.4) {
            let amount = self.max_withdrawal(a).max(1);
            self.withdraw(a, amount).await?;
        }
        Ok(())
    }

    fn pick_attacker(&mut self) -> usize {
        let k = self.rng.random_range(0..self.attacker.len());
        self.attacker[k]
    }

    /// Two distinct attacker accounts.
    fn pick_two(&mut self) -> (usize, usize) {
        let a = self.pick_attacker();
        loop {
            let b = self.pick_attacker();
            if b != a {
                return (a, b);
            }
        }
    }

    /// `maker` rests `lots` at a band edge (the one worst for it when `maker_pays`, value going
    /// to the taker; otherwise the other), `taker` takes them; what did not trade is pulled.
    async fn band_edge_trade(
        &mut self,
        maker: usize,
        taker: usize,
        maker_side: OrderSide,
        maker_pays: bool,
        lots: u64,
        reduce_only: bool,
    ) -> Result<(), Failure> {
        let price = self.edge(maker_side, maker_pays);
        let rest = self.order(maker_side, price, lots, OrderType::Limit, false);
        if self
            .place(
                &format!("attacker {maker} rests {lots} {maker_side:?} at {price}"),
                maker,
                rest,
            )
            .await?
        {
            let take = self.order(
                opposite(maker_side),
                price,
                lots,
                OrderType::ImmediateOrCancel,
                reduce_only,
            );
            self.place(
                &format!("attacker {taker} takes {lots} at {price} (reduce-only {reduce_only})"),
                taker,
                take,
            )
            .await?;
        }
        self.cancel_all(maker).await
    }

    /// Sell into a sibling's bid at the band edge, then have a third sibling liquidate the
    /// seller: in one transaction, or back to back.
    async fn self_liquidation(&mut self, bundled: bool) -> Result<(), Failure> {
        if self.attacker.len() < 3 {
            return Ok(());
        }
        let victim = self.pick_attacker();
        // The two best-funded siblings bid and liquidate (each must meet initial margin).
        let mut others: Vec<(i128, usize)> = self
            .attacker
            .iter()
            .copied()
            .filter(|&i| i != victim)
            .map(|i| (self.equity_of(i), i))
            .collect();
        others.sort_unstable_by(|a, b| b.cmp(a));
        let (bidder, liquidator) = if self.rng.random_bool(0.5) {
            (others[0].1, others[1].1)
        } else {
            (others[1].1, others[0].1)
        };
        // The victim first levers up as far as initial margin lets it, trading at the oracle
        // with a sibling: with the 5% band, only a position levered beyond 20 can be sold into
        // a bid at the edge down to under its maintenance margin.
        if self.rng.random_bool(0.7) {
            let held = self.lots_of(victim);
            let side = match held.signum() {
                1 => OrderSide::Bid,
                -1 => OrderSide::Ask,
                _ => {
                    if self.rng.random_bool(0.5) {
                        OrderSide::Bid
                    } else {
                        OrderSide::Ask
                    }
                }
            };
            let more = self
                .affordable(victim, 1_000_000)
                .saturating_sub(held.unsigned_abs());
            if more > 0 {
                let partner = liquidator;
                self.log.push(format!(
                    "    attacker {victim} levers up by {more} with {partner}"
                ));
                let price = self.price().0;
                let rest = self.order(opposite(side), price, more, OrderType::PostOnly, false);
                if self
                    .place(
                        &format!("attacker {partner} rests {more} at the oracle"),
                        partner,
                        rest,
                    )
                    .await?
                {
                    let take = self.order(side, price, more, OrderType::ImmediateOrCancel, false);
                    self.place(
                        &format!("attacker {victim} takes {more} at the oracle"),
                        victim,
                        take,
                    )
                    .await?;
                    self.cancel_all(partner).await?;
                }
            }
        }
        if self.lots_of(victim) == 0 {
            return Ok(());
        }
        let held = self.lots_of(victim);
        let sell = closing_side(held);
        // The sibling's order at the edge worst for the victim, as large as the victim's
        // position; the sale is sized to walk down the book (honest bids first) until the
        // victim's equity is about zero, or at random.
        let price = self.edge(opposite(sell), false);
        let rest = self.order(
            opposite(sell),
            price,
            held.unsigned_abs(),
            OrderType::Limit,
            false,
        );
        self.place(
            &format!(
                "attacker {bidder} rests {} at {price} for its sibling",
                held.unsigned_abs()
            ),
            bidder,
            rest,
        )
        .await?;
        let lots = if self.rng.random_bool(0.8) {
            (self.sale_to_zero(victim, sell, price) + self.rng.random_range(0..3))
                .clamp(1, held.unsigned_abs())
        } else {
            self.rng.random_range(1..=held.unsigned_abs())
        };
        let args = self.order(sell, price, lots, OrderType::ImmediateOrCancel, true);
        let sale = self.place_ix(victim, args);
        let liquidation = ix::liquidate(
            &self.actors[liquidator].wallet.pubkey(),
            &self.m.keys(),
            &self.actors[victim].position,
        );
        if bundled {
            let landed = self
                .send(
                    &format!("bundle: attacker {victim} sells {lots} at {price}, attacker {liquidator} liquidates it"),
                    vec![sale, liquidation],
                    &[victim, liquidator],
                )
                .await?;
            if landed {
                self.stats.bundles_landed += 1;
            }
        } else {
            self.send(
                &format!("attacker {victim} sells {lots} at {price}"),
                vec![sale],
                &[victim],
            )
            .await?;
            self.send(
                &format!("attacker {liquidator} liquidates attacker {victim}"),
                vec![liquidation],
                &[liquidator],
            )
            .await?;
        }
        self.cancel_all(bidder).await
    }

    /// The lots a sale by `victim` on `side` down to `limit` takes, walking the book best
    /// first, before the loss against the oracle uses up its equity.
    fn sale_to_zero(&self, victim: usize, side: OrderSide, limit: u64) -> u64 {
        let key = self.actors[victim].position.to_bytes();
        let side: perps_engine::OrderSide = side.into();
        let oracle = self.price().0 as i128;
        let mut equity = self.equity_of(victim);
        let mut lots = 0;
        for order in self
            .last
            .book
            .book
            .side(side.opposite())
            .orders()
            .iter()
            .rev()
        {
            if order.maker == key {
                continue;
            }
            if !side.crosses(Price(limit), Price(order.price)) {
                break;
            }
            let loss = ((oracle - order.price as i128) * side.opposite().sign() as i128).max(0);
            let take = if loss == 0 {
                order.lots
            } else {
                (equity / loss).clamp(0, order.lots as i128) as u64
            };
            lots += take;
            equity -= take as i128 * loss;
            if take < order.lots {
                break;
            }
        }
        lots
    }

    /// Before the keeper sees a price move, each liquidatable attacker account is liquidated by
    /// a sibling.
    async fn front_run_keeper(&mut self) -> Result<(), Failure> {
        for target in liquidatable(&self.last, self.price()) {
            let Some(&victim) = self
                .attacker
                .iter()
                .find(|&&i| self.actors[i].position == target)
            else {
                continue;
            };
            if !self.rng.random_bool(0.7) {
                continue;
            }
            let liquidator = loop {
                let l = self.pick_attacker();
                if l != victim {
                    break l;
                }
            };
            let instruction = ix::liquidate(
                &self.actors[liquidator].wallet.pubkey(),
                &self.m.keys(),
                &target,
            );
            self.send(
                &format!("attacker {liquidator} front-runs the keeper on attacker {victim}"),
                vec![instruction],
                &[liquidator],
            )
            .await?;
        }
        Ok(())
    }

    async fn withdraw(&mut self, who: usize, amount: u64) -> Result<bool, Failure> {
        let instruction = ix::withdraw(
            &self.actors[who].wallet.pubkey(),
            &self.m.market,
            &self.actors[who].wallet.token,
            &self.m.oracle,
            amount,
        );
        self.send(
            &format!("attacker {who} withdraws {amount}"),
            vec![instruction],
            &[who],
        )
        .await
    }

    async fn deposit(&mut self, who: usize, amount: u64) -> Result<bool, Failure> {
        let instruction = ix::deposit(
            &self.actors[who].wallet.pubkey(),
            &self.m.market,
            &self.actors[who].wallet.token,
            amount,
        );
        self.send(
            &format!("{who} deposits {amount}"),
            vec![instruction],
            &[who],
        )
        .await
    }

    /// The most `who` may withdraw, as the program computes it.
    fn max_withdrawal(&self, who: usize) -> u64 {
        let market = &self.last.market;
        let Some(position) = self.last.position(&self.actors[who].position) else {
            return 0;
        };
        let Ok(state) = position.state_at(market.funding_index) else {
            return 0;
        };
        state
            .max_withdrawal(
                self.price(),
                &market.params.margin_tiers().expect("tiers"),
                RatePpm::ONE,
                market.is_adl_pending(),
            )
            .map_or(0, |a| a.0)
    }

    /// Funding cranked an interval later, at the same price. With item 5's attack on, the
    /// attacker sets the book's mid with one-lot quotes just before (or in the same
    /// transaction); otherwise it pulls its own orders first, so the mark is the honest book's.
    /// `skew`: the honest mark's offset from the oracle (ppm) when the world is set to be unkind
    /// to one position; otherwise drawn at random.
    async fn crank(&mut self, quotes: bool, skew: Option<i64>) -> Result<(), Failure> {
        let interval = params().funding_interval_secs as i64;
        self.push_price(self.ticks, interval).await?;
        let keys = self.m.keys();
        if !quotes {
            for k in 0..self.attacker.len() {
                self.cancel_all(self.attacker[k]).await?;
            }
            // Often the honest book's mid stands off the oracle at the crank (up to 3% away):
            // funding at the rate honest liquidity sets, real income and real cost. The skewed
            // quotes live only for the crank, so nobody trades with them.
            let skewed = skew.is_some() || self.rng.random_bool(0.6);
            if skewed {
                self.makers_pull().await?;
                let offset = skew.unwrap_or_else(|| self.rng.random_range(-30_000i64..=30_000));
                let mid = (self.ticks as i64 * (1_000_000 + offset) / 1_000_000) as u64;
                let maker = self.makers[0];
                let bid = self.order(
                    OrderSide::Bid,
                    (mid - 1) * TICK,
                    1,
                    OrderType::PostOnly,
                    false,
                );
                let ask = self.order(
                    OrderSide::Ask,
                    (mid + 1) * TICK,
                    1,
                    OrderType::PostOnly,
                    false,
                );
                let owner = self.actors[maker].wallet.pubkey();
                self.send(
                    &format!("maker {maker} quotes around {mid} ticks for the crank"),
                    vec![
                        ix::place_order(&owner, &keys, bid, &[]),
                        ix::place_order(&owner, &keys, ask, &[]),
                    ],
                    &[maker],
                )
                .await?;
            }
            self.send("crank funding", vec![ix::crank_funding(&keys)], &[])
                .await?;
            if skewed {
                self.makers_pull().await?;
                self.makers_quote().await?;
            }
            return Ok(());
        }
        // Quote the side that pays the attacker: a net short wants the mark high (longs pay).
        let net: i64 = self.attacker.iter().map(|&i| self.lots_of(i)).sum();
        let (a, b) = self.pick_two();
        let (low, high) = self.band_edges();
        let (best_bid, best_ask) = self.last.book.book.top();
        let (bid, ask) = if net <= 0 {
            let ask = best_ask.map_or(high, |p| p.0).min(high);
            (ask - TICK, ask)
        } else {
            let bid = best_bid.map_or(low, |p| p.0).max(low);
            (bid, bid + TICK)
        };
        let bid_args = self.order(OrderSide::Bid, bid, 1, OrderType::PostOnly, false);
        let ask_args = self.order(OrderSide::Ask, ask, 1, OrderType::PostOnly, false);
        let owner_a = self.actors[a].wallet.pubkey();
        let owner_b = self.actors[b].wallet.pubkey();
        let bid_ix = ix::place_order(&owner_a, &keys, bid_args, &[]);
        let ask_ix = ix::place_order(&owner_b, &keys, ask_args, &[]);
        if self.rng.random_bool(0.5) {
            self.send(
                &format!("attacker {a} bids 1 at {bid}, {b} asks 1 at {ask}, crank, cancel (one transaction)"),
                vec![
                    bid_ix,
                    ask_ix,
                    ix::crank_funding(&keys),
                    ix::cancel_all_orders(&owner_a, &keys),
                    ix::cancel_all_orders(&owner_b, &keys),
                ],
                &[a, b],
            )
            .await?;
        } else {
            self.send(&format!("attacker {a} bids 1 at {bid}"), vec![bid_ix], &[a])
                .await?;
            self.send(&format!("attacker {b} asks 1 at {ask}"), vec![ask_ix], &[b])
                .await?;
            self.send("crank funding", vec![ix::crank_funding(&keys)], &[])
                .await?;
            self.cancel_all(a).await?;
            self.cancel_all(b).await?;
        }
        Ok(())
    }

    /// The honest mark offset (ppm, within the band) at which one crank makes `who` pay the
    /// funding that leaves its equity at about 80% of its maintenance margin, or as near as
    /// the offset goes; `None` once it is under maintenance (or flat).
    fn unkind_skew(&mut self, who: usize) -> Option<i64> {
        let market = &self.last.market;
        let position = self.last.position(&self.actors[who].position)?;
        let price = self.price();
        let tiers = market.params.margin_tiers().expect("tiers");
        let health = position
            .state_at(market.funding_index)
            .ok()?
            .health(price, &tiers, RatePpm::ONE)
            .ok()?;
        if position.base_lots == 0 || health.is_liquidatable() {
            return None;
        }
        let owe = health.equity.0 - health.maintenance.0 * 8 / 10;
        let notional = price.0 as i128 * position.base_lots.unsigned_abs() as i128;
        let rate = (owe * 1_000_000 / notional.max(1)) as i64 + self.rng.random_range(0..200);
        // Longs pay when the mark is above the oracle.
        Some(rate.min(45_000) * position.base_lots.signum())
    }

    /// An empty attacker account closes (its registry slot freed mid-sweep, perhaps while it
    /// is ranked) and, mostly, opens again (reusing a freed slot).
    async fn close_and_reopen(&mut self, a: usize, always: bool) -> Result<(), Failure> {
        let closable = self
            .last
            .position(&self.actors[a].position)
            .is_some_and(|p| (p.base_lots, p.collateral, p.open_order_count) == (0, 0, 0));
        if !closable || !(always || self.rng.random_bool(0.5)) {
            return Ok(());
        }
        let owner = self.actors[a].wallet.pubkey();
        let close = ix::close_position(&owner, &self.m.market, &self.m.registry);
        if self
            .send(
                &format!("attacker {a} closes its position"),
                vec![close],
                &[a],
            )
            .await?
            && self.last.market.is_adl_pending()
        {
            self.stats.closed_during_adl += 1;
        }
        if self.rng.random_bool(0.7) {
            let open = ix::open_position(&owner, &self.m.market, &self.m.registry);
            self.send(
                &format!("attacker {a} opens its position again"),
                vec![open],
                &[a],
            )
            .await?;
        }
        Ok(())
    }

    // ---- one action ----

    async fn act(&mut self) -> Result<(), Failure> {
        let roll = self.rng.random_range(0..100);
        let price = self.price().0;
        match roll {
            // A price move: honest quotes come off first, the attacker front-runs the keeper on
            // its own accounts, the keeper runs, the makers quote again.
            0..=16 => {
                let r: f64 = match self.rng.random_range(0..10) {
                    0..=5 => self.rng.random_range(-0.01..0.01),
                    6..=8 => self.rng.random_range(-0.04..0.04),
                    _ => self.rng.random_range(-0.12..0.12),
                };
                let ticks = ((self.ticks as f64) * (1.0 + r)).round() as u64;
                let ticks = ticks.clamp(3_000, 12_000);
                let seconds = self.rng.random_range(1..30);
                self.log.push(format!("  price move {:+.2}%", r * 100.0));
                self.makers_pull().await?;
                self.push_price(ticks, seconds).await?;
                self.front_run_keeper().await?;
                self.keeper_round().await?;
                self.makers_quote().await?;
            }
            17..=21 => {
                let quotes = self.rng.random_bool(0.7);
                self.log
                    .push(format!("  funding crank (attacker quotes: {quotes})"));
                self.crank(quotes, None).await?;
            }
            // Honest traders open or add at the oracle against a maker or each other.
            22..=33 => {
                let t = self.traders[self.rng.random_range(0..self.traders.len())];
                let other = if self.rng.random_bool(0.5) {
                    self.makers[self.rng.random_range(0..self.makers.len())]
                } else {
                    let o = self.traders[self.rng.random_range(0..self.traders.len())];
                    if o == t {
                        self.makers[0]
                    } else {
                        o
                    }
                };
                let side = if self.rng.random_bool(0.5) {
                    OrderSide::Bid
                } else {
                    OrderSide::Ask
                };
                let leverage = self.rng.random_range(2..80);
                let equity = self
                    .last
                    .position(&self.actors[t].position)
                    .map_or(0, |p| p.collateral.max(0) as u64);
                let want = (equity * leverage / price).max(1);
                let held = self.lots_of(t).unsigned_abs();
                let lots = self.affordable(t, held + want).saturating_sub(held).max(1);
                self.log.push(format!(
                    "  honest trader {t} trades {lots} {side:?} with {other}"
                ));
                if self.rng.random_bool(0.5) {
                    self.honest_cross(other, t, side, lots, false).await?;
                } else {
                    self.honest_cross(t, other, opposite(side), lots, false)
                        .await?;
                }
            }
            // Honest traders reduce or close against a maker.
            34..=38 => {
                let t = self.traders[self.rng.random_range(0..self.traders.len())];
                let held = self.lots_of(t);
                if held != 0 {
                    let lots = self.rng.random_range(1..=held.unsigned_abs());
                    let maker = self.makers[self.rng.random_range(0..self.makers.len())];
                    self.log.push(format!("  honest trader {t} reduces {lots}"));
                    self.honest_cross(maker, t, closing_side(held), lots, true)
                        .await?;
                }
            }
            // The attacker takes honest quotes (real risk, and taker fees out of collateral).
            39..=46 => {
                let a = self.pick_attacker();
                let side = if self.rng.random_bool(0.5) {
                    OrderSide::Bid
                } else {
                    OrderSide::Ask
                };
                let held = self.lots_of(a).unsigned_abs();
                let lots = match self.rng.random_range(0..3) {
                    0 => self.rng.random_range(1..20),
                    _ => self.affordable(a, held + 200).saturating_sub(held).max(1),
                };
                let limit = self.edge(side, true);
                self.log
                    .push(format!("  attacker {a} takes {lots} {side:?}"));
                let args = self.order(side, limit, lots, OrderType::ImmediateOrCancel, false);
                self.place(
                    &format!("attacker {a} takes {lots} {side:?} up to {limit}"),
                    a,
                    args,
                )
                .await?;
            }
            // Trades between the attacker's own accounts at the band edges.
            47..=56 => {
                let (maker, taker) = self.pick_two();
                let side = if self.rng.random_bool(0.5) {
                    OrderSide::Bid
                } else {
                    OrderSide::Ask
                };
                let maker_pays = self.rng.random_bool(0.7);
                let held = self.lots_of(taker).unsigned_abs();
                let reduce_only = held > 0 && self.rng.random_bool(0.4);
                let lots = if reduce_only {
                    self.rng.random_range(1..=held)
                } else {
                    self.rng
                        .random_range(1..=self.affordable(maker, 300).max(1))
                };
                self.log.push(format!("  attacker self-trade at the band edge: {maker} rests {side:?}, {taker} takes {lots}"));
                self.band_edge_trade(maker, taker, side, maker_pays, lots, reduce_only)
                    .await?;
            }
            // Withdraw everything the margin allows, then pay taker fees out of collateral that
            // is now zero (negative collateral backed by profit).
            57..=63 => {
                // Mostly the account with the most unrealized profit: it can take out all its
                // collateral and stand on profit alone.
                let a = if self.rng.random_bool(0.7) {
                    self.most_profitable_attacker()
                } else {
                    self.pick_attacker()
                };
                let amount = self.max_withdrawal(a);
                self.log.push(format!(
                    "  attacker {a} withdraws all it may ({amount}), then adds"
                ));
                if amount > 0 {
                    self.withdraw(a, amount).await?;
                }
                let held = self.lots_of(a);
                if held != 0 && self.rng.random_bool(0.6) {
                    // Funding it pays comes out of collateral that is now about zero: honest
                    // quotes happen to set the mark so that it pays about what takes it just
                    // under maintenance, over up to three cranks (issue 13's finding 1 needs
                    // this: collateral negative, equity backed by profit, a partial
                    // liquidation).
                    for _ in 0..3 {
                        let Some(offset) = self.unkind_skew(a) else {
                            break;
                        };
                        self.log.push(format!(
                            "  funding that attacker {a} pays (mark {offset:+} ppm)"
                        ));
                        self.crank(false, Some(offset)).await?;
                    }
                }
                if held != 0 && self.rng.random_bool(0.7) {
                    let side = if held > 0 {
                        OrderSide::Bid
                    } else {
                        OrderSide::Ask
                    };
                    let lots = self.rng.random_range(1..10);
                    let limit = self.edge(side, true);
                    let args = self.order(side, limit, lots, OrderType::ImmediateOrCancel, false);
                    self.place(&format!("attacker {a} adds {lots}"), a, args)
                        .await?;
                }
            }
            // Dust farming: one-lot positions on the dust accounts, traded with a sibling at the
            // edge worst for the dust account.
            64..=69 => {
                self.log.push("  attacker dust farming".into());
                for d in 0..2.min(self.attacker.len()) {
                    let dust = self.attacker[d];
                    let sibling = loop {
                        let s = self.pick_attacker();
                        if s != dust {
                            break s;
                        }
                    };
                    let side = if self.rng.random_bool(0.5) {
                        OrderSide::Bid
                    } else {
                        OrderSide::Ask
                    };
                    self.band_edge_trade(dust, sibling, side, true, 1, false)
                        .await?;
                }
            }
            70..=77 => {
                let bundled = self.rng.random_bool(0.5);
                self.log.push(format!(
                    "  attacker self-liquidation (one transaction: {bundled})"
                ));
                self.self_liquidation(bundled).await?;
            }
            // A deposit into an account the ADL book took over (empty while the market is in
            // ADL; or, if none, into any of them), then perhaps a withdrawal.
            78..=83 => {
                let in_adl = self.last.market.is_adl_pending();
                let target = self.attacker.iter().copied().find(|&i| {
                    in_adl
                        && self
                            .last
                            .position(&self.actors[i].position)
                            .is_some_and(|p| (p.base_lots, p.collateral) == (0, 0))
                });
                let a = target.unwrap_or_else(|| self.pick_attacker());
                let wallet = self.last.wallets[a];
                if wallet > 0 {
                    let amount = self.rng.random_range(1..=wallet);
                    self.log.push(format!(
                        "  attacker {a} deposits {amount} (emptied in ADL: {})",
                        target.is_some()
                    ));
                    if self.deposit(a, amount).await? && target.is_some() {
                        self.stats.deposits_after_takeover += 1;
                    }
                    if self.rng.random_bool(0.3) {
                        let amount = self.max_withdrawal(a).max(1);
                        self.withdraw(a, amount).await?;
                    }
                }
            }
            // The attacker rests orders anywhere in the band (often one lot).
            84..=90 => {
                let a = self.pick_attacker();
                let side = if self.rng.random_bool(0.5) {
                    OrderSide::Bid
                } else {
                    OrderSide::Ask
                };
                let (low, high) = self.band_edges();
                let at = self.rng.random_range(low / TICK..=high / TICK) * TICK;
                let lots = if self.rng.random_bool(0.6) {
                    1
                } else {
                    self.rng.random_range(1..50)
                };
                self.log
                    .push(format!("  attacker {a} rests {lots} {side:?} at {at}"));
                let args = self.order(side, at, lots, OrderType::PostOnly, false);
                self.place(
                    &format!("attacker {a} rests {lots} {side:?} at {at}"),
                    a,
                    args,
                )
                .await?;
            }
            91..=93 => {
                let a = self.pick_attacker();
                let amount = self
                    .rng
                    .random_range(0..=self.last.wallets[a].min(50 * USDC));
                if amount > 0 {
                    self.log.push(format!(
                        "  attacker {a} funds the insurance vault with {amount}"
                    ));
                    let instruction = ix::fund_insurance(
                        &self.actors[a].wallet.pubkey(),
                        &self.m.market,
                        &self.actors[a].wallet.token,
                        amount,
                    );
                    self.send(
                        &format!("attacker {a} funds insurance"),
                        vec![instruction],
                        &[a],
                    )
                    .await?;
                }
            }
            94..=96 => {
                let a = self.pick_attacker();
                self.log.push(format!("  attacker {a} pulls its orders"));
                self.cancel_all(a).await?;
            }
            // A flat attacker account takes everything out.
            _ => {
                let a = self.pick_attacker();
                if let Some(p) = self.last.position(&self.actors[a].position) {
                    if p.base_lots == 0 && p.collateral > 0 {
                        let amount = p.collateral as u64;
                        self.log
                            .push(format!("  flat attacker {a} withdraws {amount}"));
                        self.cancel_all(a).await?;
                        self.withdraw(a, amount).await?;
                    }
                }
                self.close_and_reopen(a, false).await?;
            }
        }
        self.keeper_round().await
    }

    /// Honest positions to start from: the makers quote and traders cross at the oracle.
    async fn warm_up(&mut self) -> Result<(), Failure> {
        self.log.push("  warm-up".into());
        self.makers_quote().await?;
        for k in 0..self.traders.len() {
            let t = self.traders[k];
            let maker = self.makers[k % self.makers.len()];
            let side = if self.rng.random_bool(0.5) {
                OrderSide::Bid
            } else {
                OrderSide::Ask
            };
            let lots = self.affordable(t, 1_000).max(1) / self.rng.random_range(1..4);
            self.honest_cross(maker, t, side, lots.max(1), false)
                .await?;
        }
        self.keeper_round().await
    }
}

/// The positions the keeper would liquidate at `price`, most under-margined first (as
/// `perps_keeper::assess` orders them).
fn liquidatable(s: &Snapshot, price: Price) -> Vec<Pubkey> {
    let tiers = s.market.params.margin_tiers().expect("tiers");
    let mut out: Vec<(Pubkey, perps_engine::MarginHealth)> = s
        .positions
        .iter()
        .filter(|(_, p)| p.base_lots != 0)
        .filter_map(|(k, p)| {
            let health = p
                .state_at(s.market.funding_index)
                .ok()?
                .health(price, &tiers, RatePpm::ONE)
                .ok()?;
            health.is_liquidatable().then_some((*k, health))
        })
        .collect();
    out.sort_by(|(ka, a), (kb, b)| {
        (a.equity.0 * b.maintenance.0)
            .cmp(&(b.equity.0 * a.maintenance.0))
            .then_with(|| ka.cmp(kb))
    });
    out.into_iter().map(|(k, _)| k).collect()
}

fn describe(error: &TxError) -> String {
    match error {
        TxError::InstructionError(i, InstructionError::Custom(code)) => {
            format!("instruction {i}: error {code}")
        }
        other => format!("{other:?}"),
    }
}

/// One sequence: setup, warm-up, 20 to 40 actions, each followed by the keeper.
async fn run_sequence(seed: u64) -> (Result<(), Failure>, Stats, Vec<String>) {
    let mut run = Run::new(seed).await;
    let actions = run.rng.random_range(20..=40);
    let mut result = run.warm_up().await;
    for _ in 0..actions {
        if result.is_err() {
            break;
        }
        result = run.act().await;
    }
    (result, run.stats, std::mem::take(&mut run.log))
}

#[tokio::test]
async fn an_attacker_never_profits_and_every_invariant_holds_after_every_transaction() {
    let config = Config::from_env();
    let started = Instant::now();
    let mut totals = Stats::default();
    let mut failures: Vec<(u64, String)> = Vec::new();
    for &seed in &config.seeds {
        let (result, stats, log) = run_sequence(seed).await;
        totals.add(&stats);
        if config.verbose {
            println!("sequence {seed}:\n{}", log.join("\n"));
        }
        if let Err(failure) = result {
            let report = format!(
                "sequence {seed} failed (replay: PERPS_ATTACK_SEED={seed} cargo test -p perps-tests attack -- --nocapture)\n  {failure}\n  actions:\n{}",
                log.join("\n")
            );
            eprintln!("{report}\n");
            failures.push((seed, report));
        }
    }
    println!(
        "{} sequences in {:.1} s, {} failed; {:?}",
        config.seeds.len(),
        started.elapsed().as_secs_f64(),
        failures.len(),
        totals
    );
    if let Some((_, first)) = failures.first() {
        let seeds: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        panic!(
            "{} sequences failed, seeds {seeds:?}; the first:\n{first}",
            failures.len()
        );
    }
}
