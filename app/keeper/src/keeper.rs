//! One keeper pass over its markets.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use perps::error::PerpsError;
use perps::state::{Market, MarketStatus, Position};
use perps_client::{
    accounts as decode,
    adl::{self as adl_plan, AdlStep},
    instructions as ix, oracle, pda,
};
use perps_engine::{oracle::OracleUse, MarginHealth, Price, RatePpm};
use solana_instruction::Instruction;
use tracing::{debug, info, warn};

use crate::chain::{Chain, SendError};
use crate::metrics::Metrics;

/// Independent transactions in flight at once unless configured.
pub const DEFAULT_PARALLEL_SENDS: usize = 8;

/// Decisions remembered as sent: far more than one pass decides, bounded so a long-running
/// keeper's memory does not grow with every state it ever saw.
pub const REMEMBERED_DECISIONS: usize = 65_536;

/// The digests of the last `capacity` decisions sent, oldest forgotten first.
#[derive(Debug)]
pub struct Decisions {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Decisions {
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn contains(&self, decision: u64) -> bool {
        self.seen.contains(&decision)
    }

    pub fn insert(&mut self, decision: u64) {
        if !self.seen.insert(decision) {
            return;
        }
        self.order.push_back(decision);
        if self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// ADL steps (a sweep's ranking chunks, or its fills) one pass sends for one market before it
/// moves on: a book that outlasts a ranking needs a new sweep, ranked then filled.
const MAX_ADL_ROUNDS: usize = 16;

/// Counts of one pass, logged at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassSummary {
    pub markets: u32,
    pub positions: u32,
    pub liquidatable: u32,
    pub liquidations: u32,
    /// `rank_adl_candidates` transactions landed, and the positions they ranked.
    pub rank_transactions: u32,
    pub positions_ranked: u32,
    /// `adl` transactions landed (fills down the ranking, or the start of a new sweep).
    pub adl_transactions: u32,
    pub adl_completed: u32,
    pub funding_cranks: u32,
    /// `settle_position` transactions landed in Settled markets.
    pub settlements: u32,
    /// Reduce-only taker orders that unwound the keeper's inventory, and the lots they closed.
    pub unwind_orders: u32,
    pub lots_unwound: u64,
    /// Collateral deposits from the keeper's wallet.
    pub top_ups: u32,
    /// Actions another keeper had already taken (recognised from the program's error).
    pub skipped: u32,
    /// Actions a dry run would have sent.
    pub dry_run: u32,
    pub errors: u32,
}

/// The positions of `market` the program would let a keeper liquidate at `price`, with their
/// health, most under-margined first (lowest equity / maintenance). A bankrupt one the insurance
/// vault cannot cover is liquidated too: the program takes it into the market's ADL book.
pub fn assess(
    market: &Market,
    positions: &[(Pubkey, Position)],
    price: Price,
) -> Vec<(Pubkey, MarginHealth)> {
    let Ok(tiers) = market.params.margin_tiers() else {
        return Vec::new();
    };
    let mut liquidatable: Vec<(Pubkey, MarginHealth)> = positions
        .iter()
        .filter(|(_, p)| p.base_lots != 0)
        .filter_map(|(key, p)| {
            let health = p
                .state_at(market.funding_index)
                .ok()?
                .health(price, &tiers, RatePpm::ONE)
                .ok()?;
            health.is_liquidatable().then_some((*key, health))
        })
        .collect();
    // equity_a / mm_a < equity_b / mm_b, cross-multiplied (maintenance is positive here).
    liquidatable.sort_by(|(ka, a), (kb, b)| {
        (a.equity.0 * b.maintenance.0)
            .cmp(&(b.equity.0 * a.maintenance.0))
            .then_with(|| ka.cmp(kb))
    });
    liquidatable
}

/// The accounts trading instructions name for the market at `market_key` (`market`, as read).
pub async fn market_keys<C: Chain>(
    chain: &mut C,
    market_key: Pubkey,
    market: &Market,
) -> anyhow::Result<ix::MarketKeys> {
    let program_id = chain.program_id();
    let exchange = chain
        .account(&pda::Pdas(program_id).exchange())
        .await?
        .ok_or_else(|| anyhow::anyhow!("exchange does not exist"))?;
    let exchange =
        decode::exchange(&exchange.data).map_err(|e| anyhow::anyhow!("exchange: {e}"))?;
    Ok(ix::MarketKeys {
        program_id,
        market: market_key,
        order_book: market.order_book,
        registry: market.position_registry,
        oracle: market.oracle,
        treasury: exchange.treasury,
    })
}

/// The side and limit price of a reduce-only order unwinding `base_lots`: selling a long no
/// lower than the oracle less the slippage (rounded up to a tick), buying back a short no higher
/// than the oracle plus it (rounded down).
pub fn unwind_order(
    base_lots: i64,
    oracle: Price,
    tick_size: u64,
    unwind: Unwind,
) -> (perps::state::OrderSide, Price) {
    let tick = tick_size.max(1) as u128;
    let oracle = oracle.0 as u128;
    let slip = oracle * unwind.max_slippage_bps as u128 / 10_000;
    if base_lots > 0 {
        let floor = oracle.saturating_sub(slip);
        let limit = floor.div_ceil(tick) * tick;
        (perps::state::OrderSide::Ask, Price(limit.max(tick) as u64))
    } else {
        let cap = oracle + slip;
        let limit = (cap / tick * tick).min(u64::MAX as u128);
        (perps::state::OrderSide::Bid, Price(limit as u64))
    }
}

/// Equity less initial margin of `position` at `price`, quote atoms: how much more risk the
/// keeper's own position can take over before the program refuses it.
pub fn headroom(market: &Market, position: &Position, price: Price) -> Option<i64> {
    let tiers = market.params.margin_tiers().ok()?;
    let health = position
        .state_at(market.funding_index)
        .ok()?
        .health(price, &tiers, RatePpm::ONE)
        .ok()?;
    i64::try_from(health.equity.0 - health.initial.0).ok()
}

fn digest(parts: &[&[u8]]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// One action decided: what to send, and the state it was decided on (`digest`).
struct Decision {
    action: &'static str,
    market: u16,
    target: Pubkey,
    instruction: Instruction,
    digest: u64,
    /// The program's refusals that mean another keeper already did it.
    benign: &'static [PerpsError],
}

enum Sent {
    Done,
    /// Another keeper got there first.
    Skipped,
    Failed,
    NotSent,
}

pub struct Keeper<C: Chain> {
    pub chain: C,
    markets: Vec<u16>,
    dry_run: bool,
    /// Digests of (action, state it was decided on): the same decision is never sent twice.
    attempted: Decisions,
    metrics: Metrics,
    /// When the state the current decisions rest on was read: latency runs from here.
    detected: Instant,
    /// Independent transactions (liquidations, ranking chunks) in flight at once.
    parallel_sends: usize,
    inventory: Inventory,
}

/// What the keeper does with the lots its position takes over, and how it keeps the margin to
/// take more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Unwinds the keeper's position into the book; none: it holds what it took.
    pub unwind: Option<Unwind>,
    /// Equity above initial margin (quote atoms) the keeper keeps before it liquidates: the
    /// program refuses a liquidation that leaves the liquidator below initial margin.
    pub min_headroom: i64,
    /// Tops the position's collateral up from the wallet when the headroom is short.
    pub top_up: Option<TopUp>,
}

/// Reduce-only IOC taker orders through the makers in reach until the position is flat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwind {
    /// The worst price accepted, in basis points away from the oracle.
    pub max_slippage_bps: u32,
    pub max_lots_per_order: u64,
}

/// Deposits from `wallet_token` (the keeper's token account) up to `max_total` atoms in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopUp {
    pub wallet_token: Pubkey,
    pub max_total: u64,
}

/// Taker orders one pass sends to unwind a market's inventory.
const MAX_UNWIND_ORDERS: usize = 8;

impl<C: Chain> Keeper<C> {
    pub fn new(chain: C, markets: Vec<u16>, dry_run: bool) -> Self {
        Self {
            chain,
            markets,
            dry_run,
            attempted: Decisions::new(REMEMBERED_DECISIONS),
            metrics: Metrics::new(),
            detected: Instant::now(),
            parallel_sends: DEFAULT_PARALLEL_SENDS,
            inventory: Inventory::default(),
        }
    }

    /// Unwinds and tops up as `inventory` says.
    pub fn with_inventory(mut self, inventory: Inventory) -> Self {
        self.inventory = inventory;
        self
    }

    /// Sends up to `limit` independent transactions at once (1: one after another).
    pub fn with_parallel_sends(mut self, limit: usize) -> Self {
        self.parallel_sends = limit.max(1);
        self
    }

    /// Reports into `metrics` (shared with the endpoint that serves them).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Decisions remembered as sent (at most `REMEMBERED_DECISIONS`).
    pub fn remembered_decisions(&self) -> usize {
        self.attempted.len()
    }

    fn pdas(&self) -> pda::Pdas {
        pda::Pdas(self.chain.program_id())
    }

    /// One pass over every market; failures are logged and counted, never fatal.
    pub async fn pass(&mut self) -> PassSummary {
        let mut summary = PassSummary::default();
        for index in self.markets.clone() {
            summary.markets += 1;
            if let Err(e) = self.market_pass(index, &mut summary).await {
                warn!(market = index, error = %e, "market pass failed");
                self.metrics.error("market_pass");
                summary.errors += 1;
            }
        }
        let payer = self.chain.payer();
        match self.chain.account(&payer).await {
            Ok(account) => self
                .metrics
                .wallet_lamports(account.map_or(0, |a| a.lamports)),
            Err(e) => {
                warn!(error = %e, "wallet balance unreadable");
                self.metrics.error("wallet");
            }
        }
        self.metrics.pass(&summary);
        info!(
            markets = summary.markets,
            positions = summary.positions,
            liquidatable = summary.liquidatable,
            liquidations = summary.liquidations,
            rank_transactions = summary.rank_transactions,
            positions_ranked = summary.positions_ranked,
            adl_transactions = summary.adl_transactions,
            adl_completed = summary.adl_completed,
            funding_cranks = summary.funding_cranks,
            settlements = summary.settlements,
            unwind_orders = summary.unwind_orders,
            lots_unwound = summary.lots_unwound,
            top_ups = summary.top_ups,
            skipped = summary.skipped,
            dry_run = summary.dry_run,
            errors = summary.errors,
            "pass"
        );
        summary
    }

    async fn market(&mut self, key: &Pubkey) -> anyhow::Result<Market> {
        let account = self
            .chain
            .account(key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("market {key} does not exist"))?;
        decode::market(&account.data).map_err(|e| anyhow::anyhow!("market {key}: {e}"))
    }

    async fn market_pass(&mut self, index: u16, summary: &mut PassSummary) -> anyhow::Result<()> {
        let market_key = self.pdas().market(index);
        let market = self.market(&market_key).await?;
        match market.status() {
            Ok(MarketStatus::Active | MarketStatus::ReduceOnly) => {}
            Ok(MarketStatus::Settled) => {
                return self.settle_all(index, &market_key, &market, summary).await;
            }
            _ => {
                debug!(
                    market = index,
                    status = market.status,
                    "market not trading: skipped"
                );
                return Ok(());
            }
        }
        let keys = market_keys(&mut self.chain, market_key, &market).await?;
        let now = self.chain.unix_time().await?;
        let oracle_account = self
            .chain
            .account(&market.oracle)
            .await?
            .ok_or_else(|| anyhow::anyhow!("oracle {} does not exist", market.oracle))?;
        let price = match oracle::oracle_price(
            &market_key,
            &market,
            &oracle_account.owner,
            &oracle_account.data,
            now,
            OracleUse::Liquidation,
        ) {
            Ok(price) => price,
            Err(reason) => {
                warn!(
                    market = index,
                    reason, "oracle refused: no liquidation or ADL this pass"
                );
                return Ok(());
            }
        };

        // Every liquidatable position goes: a bankruptcy the vault cannot cover goes into the
        // market's ADL book, which ADL then closes down the on-chain ranking.
        if self
            .liquidate_all(index, &market_key, &keys, price, summary)
            .await?
        {
            self.drive_adl(index, &market_key, &keys, price, summary)
                .await?;
        }

        if let Some(unwind) = self.inventory.unwind {
            self.unwind(index, &market_key, &keys, price, unwind, summary)
                .await?;
        }

        let market = self.market(&market_key).await?;
        if now >= market.last_funding_time + market.params.funding_interval_secs as i64 {
            let decision = digest(&[b"funding", &market.last_funding_time.to_le_bytes()]);
            if let Sent::Done = self
                .execute(
                    "crank_funding",
                    index,
                    &market_key,
                    ix::crank_funding(&keys),
                    decision,
                    &[PerpsError::FundingNotDue],
                    summary,
                )
                .await
            {
                summary.funding_cranks += 1;
            }
        }
        Ok(())
    }

    /// In a Settled market: `settle_position` for every position that still holds lots or
    /// resting orders (no price needed: the market's settlement price is fixed). Once none is
    /// left, one more call on any position if the market still has whole atoms of funding
    /// rounding (or a flat ADL book's collateral) to move, so the collateral vault ends at
    /// exactly what the positions hold. `FlatPosition` means another keeper got there first.
    async fn settle_all(
        &mut self,
        index: u16,
        market_key: &Pubkey,
        market: &Market,
        summary: &mut PassSummary,
    ) -> anyhow::Result<()> {
        let keys = ix::MarketKeys {
            program_id: self.chain.program_id(),
            market: *market_key,
            order_book: market.order_book,
            registry: market.position_registry,
            oracle: market.oracle,
            // `settle_position` pays nothing to the treasury.
            treasury: Pubkey::default(),
        };
        let positions = self.chain.positions(market_key).await?;
        summary.positions += positions.len() as u32;
        let open: Vec<&(Pubkey, Position)> = positions
            .iter()
            .filter(|(_, p)| p.base_lots != 0 || p.has_open_orders())
            .collect();
        let targets: Vec<&(Pubkey, Position)> = match (open.is_empty(), positions.first()) {
            (false, _) => open,
            // Every position settled: one more call moves what the market still holds.
            (true, Some(any)) => {
                let insurance = self.insurance(market_key).await?;
                let available = insurance.saturating_sub(market.params.insurance_floor);
                if !market.has_settlement_leftovers(available) {
                    return Ok(());
                }
                vec![any]
            }
            (true, None) => return Ok(()),
        };
        for (key, position) in targets {
            let decision = digest(&[
                b"settle",
                key.as_ref(),
                &bytemuck_bytes(position),
                &market.funding_residue.to_le_bytes(),
            ]);
            if let Sent::Done = self
                .execute(
                    "settle_position",
                    index,
                    key,
                    ix::settle_position(&keys, key),
                    decision,
                    &[PerpsError::FlatPosition],
                    summary,
                )
                .await
            {
                summary.settlements += 1;
            }
        }
        Ok(())
    }

    /// Liquidates every position below maintenance at `price`, most under-margined first
    /// (bankrupt ones the vault cannot cover go into the ADL book). False when the keeper cannot
    /// liquidate at all.
    async fn liquidate_all(
        &mut self,
        index: u16,
        market_key: &Pubkey,
        keys: &ix::MarketKeys,
        price: Price,
        summary: &mut PassSummary,
    ) -> anyhow::Result<bool> {
        let market = self.market(market_key).await?;
        let positions = self.chain.positions(market_key).await?;
        self.detected = Instant::now();
        summary.positions += positions.len() as u32;
        let own_position = self.pdas().position(market_key, &self.chain.payer());
        let own_headroom = positions
            .iter()
            .find(|(k, _)| *k == own_position)
            .and_then(|(_, p)| headroom(&market, p, price));
        if let Some(headroom) = own_headroom {
            self.metrics.headroom(index, headroom);
        }
        let liquidatable = assess(&market, &positions, price);
        summary.liquidatable += liquidatable.len() as u32;
        if liquidatable.is_empty() {
            return Ok(true);
        }
        if let Some(headroom) = own_headroom {
            if !self
                .keep_headroom(index, market_key, headroom, summary)
                .await?
            {
                return Ok(false);
            }
        }
        if self.chain.account(&own_position).await?.is_none() {
            warn!(
                market = index,
                "the keeper has no position in this market to liquidate into"
            );
            summary.errors += 1;
            return Ok(false);
        }
        let mut decisions = Vec::new();
        for (target, health) in liquidatable {
            if target == own_position {
                // The program refuses a self-liquidation: another keeper's to take.
                warn!(market = index, "the keeper's own position is liquidatable");
                continue;
            }
            let Some((_, position)) = positions.iter().find(|(k, _)| *k == target) else {
                continue;
            };
            debug!(market = index, position = %target, equity = health.equity.0 as i64, maintenance = health.maintenance.0 as i64, "liquidatable");
            decisions.push(Decision {
                action: "liquidate",
                market: index,
                target,
                instruction: ix::liquidate(&self.chain.payer(), keys, &target),
                // The decision rests on the position, the price and the market (ADL state,
                // funding).
                digest: digest(&[
                    b"liquidate",
                    target.as_ref(),
                    &bytemuck_bytes(position),
                    &price.0.to_le_bytes(),
                    &bytemuck_market(&market),
                ]),
                benign: &[PerpsError::NotLiquidatable, PerpsError::FlatPosition],
            });
        }
        // Liquidations of different positions are independent: sent in parallel, bounded.
        let outcomes = self.execute_all(decisions, summary).await;
        summary.liquidations += outcomes.iter().filter(|o| matches!(o, Sent::Done)).count() as u32;
        Ok(true)
    }

    /// Whether the keeper's position has `min_headroom` above initial margin to take more lots
    /// over, after a top-up from its wallet if it is short and one is configured; if not, it
    /// stops liquidating in this market (logged and counted as an error).
    async fn keep_headroom(
        &mut self,
        index: u16,
        market_key: &Pubkey,
        headroom: i64,
        summary: &mut PassSummary,
    ) -> anyhow::Result<bool> {
        let wanted = self.inventory.min_headroom;
        if headroom >= wanted {
            return Ok(true);
        }
        let short = (wanted - headroom) as u64;
        let Some(top_up) = self.inventory.top_up.filter(|t| t.max_total > 0) else {
            warn!(
                market = index,
                headroom, wanted, "liquidator headroom short and no top-up: not liquidating"
            );
            self.metrics.error("headroom");
            summary.errors += 1;
            return Ok(false);
        };
        let amount = short.min(top_up.max_total);
        let payer = self.chain.payer();
        let deposit = ix::deposit_under(
            &self.chain.program_id(),
            &payer,
            market_key,
            &top_up.wallet_token,
            amount,
        );
        match self.chain.send(&[deposit]).await {
            Ok(()) => {
                info!(
                    market = index,
                    amount, "topped up the liquidator's collateral"
                );
                summary.top_ups += 1;
                if let Some(t) = self.inventory.top_up.as_mut() {
                    t.max_total -= amount;
                }
                Ok(amount >= short)
            }
            Err(e) => {
                warn!(market = index, error = %describe(&e), "top-up failed: not liquidating");
                self.metrics.error("top_up");
                summary.errors += 1;
                Ok(false)
            }
        }
    }

    /// Unwinds the keeper's own position: reduce-only IOC orders of at most
    /// `max_lots_per_order`, priced no worse than `max_slippage_bps` from the oracle, through the
    /// makers in reach (as many as a transaction carries), until flat or the book within the
    /// slippage is used up.
    async fn unwind(
        &mut self,
        index: u16,
        market_key: &Pubkey,
        keys: &ix::MarketKeys,
        price: Price,
        unwind: Unwind,
        summary: &mut PassSummary,
    ) -> anyhow::Result<()> {
        let payer = self.chain.payer();
        let own = self.pdas().position(market_key, &payer);
        for _ in 0..MAX_UNWIND_ORDERS {
            let Some(account) = self.chain.account(&own).await? else {
                return Ok(());
            };
            let position = decode::position(&account.data)
                .map_err(|e| anyhow::anyhow!("own position: {e}"))?;
            if position.base_lots == 0 {
                return Ok(());
            }
            let market = self.market(market_key).await?;
            let book = self
                .chain
                .account(&market.order_book)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("order book {} does not exist", market.order_book)
                })?;
            let book =
                decode::order_book(&book.data).map_err(|e| anyhow::anyhow!("order book: {e}"))?;
            let (side, limit) =
                unwind_order(position.base_lots, price, market.params.tick_size, unwind);
            let lots = position
                .base_lots
                .unsigned_abs()
                .min(unwind.max_lots_per_order);
            let mut makers =
                perps_client::book::makers_in_reach(&book, &own, side.into(), limit, lots);
            makers.truncate(self.chain.makers_per_transaction());
            if makers.is_empty() {
                info!(
                    market = index,
                    lots = position.base_lots,
                    limit = limit.0,
                    "inventory: no maker within the slippage"
                );
                return Ok(());
            }
            let args = perps::instructions::PlaceOrderArgs {
                side,
                price: limit.0,
                lots,
                order_type: perps::state::OrderType::ImmediateOrCancel,
                reduce_only: true,
                client_order_id: 0,
            };
            let decision = digest(&[
                b"unwind",
                &bytemuck_bytes(&position),
                &limit.0.to_le_bytes(),
            ]);
            let order = ix::place_order(&payer, keys, args, &makers);
            if !matches!(
                self.execute("unwind", index, &own, order, decision, &[], summary)
                    .await,
                Sent::Done
            ) {
                return Ok(());
            }
            let after = self
                .chain
                .account(&own)
                .await?
                .and_then(|a| decode::position(&a.data).ok())
                .map_or(0, |p| p.base_lots);
            let closed = position.base_lots.unsigned_abs() - after.unsigned_abs();
            summary.unwind_orders += 1;
            summary.lots_unwound += closed;
            if closed == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// What the market's insurance vault holds.
    async fn insurance(&mut self, market_key: &Pubkey) -> anyhow::Result<u64> {
        let vault = self.pdas().insurance_vault(market_key);
        let account = self
            .chain
            .account(&vault)
            .await?
            .ok_or_else(|| anyhow::anyhow!("insurance vault {vault} does not exist"))?;
        decode::token_amount(&account.data).map_err(|e| anyhow::anyhow!("insurance vault: {e}"))
    }

    /// The market's position registry (`market.position_registry`).
    async fn registry(&mut self, market: &Market) -> anyhow::Result<decode::Registry> {
        let key = market.position_registry;
        let account = self
            .chain
            .account(&key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("position registry {key} does not exist"))?;
        decode::registry(&account.data).map_err(|e| anyhow::anyhow!("registry {key}: {e}"))
    }

    /// Drives the market's ADL (DESIGN.md §8) with `perps_client::adl::next_adl_step`: the
    /// sweep's ranking chunks (independent: each is sent even if another did not land), then
    /// the fills down the ranking (in order: one that does not land stops the step), step after
    /// step until the book is closed, nothing can progress, or the rounds are used up. True when
    /// this call closed the book.
    async fn drive_adl(
        &mut self,
        index: u16,
        market_key: &Pubkey,
        keys: &ix::MarketKeys,
        price: Price,
        summary: &mut PassSummary,
    ) -> anyhow::Result<bool> {
        let mut progressed = false;
        for round in 0..MAX_ADL_ROUNDS {
            let market = self.market(market_key).await?;
            if !market.is_adl_pending() {
                break;
            }
            let registry = self.registry(&market).await?;
            let positions = self.chain.positions(market_key).await?;
            self.detected = Instant::now();
            let insurance = self.insurance(market_key).await?;
            let state = digest(&[
                &bytemuck_market(&market),
                &anchor_lang::__private::bytemuck::bytes_of(&*registry.header).to_vec(),
            ]);
            let step = adl_plan::next_adl_step_sized(
                keys,
                &market,
                &registry,
                &positions,
                price,
                insurance,
                self.chain.adl_candidates_per_transaction(),
            );
            let landed = match step {
                AdlStep::Wait => {
                    info!(
                        market = index,
                        book_lots = market.adl_book.base_lots,
                        "in ADL, no eligible position to deleverage at this price: waits"
                    );
                    break;
                }
                AdlStep::Rank(chunks) => {
                    // Chunks are independent (any order): sent in parallel, bounded.
                    let ranked: Vec<u32> = chunks
                        .iter()
                        .map(|c| perps_client::adl::positions_in_chunk(c) as u32)
                        .collect();
                    let decisions = chunks
                        .into_iter()
                        .map(|chunk| Decision {
                            action: "rank_adl_candidates",
                            market: index,
                            target: *market_key,
                            // The chunk's positions follow the market and the registry.
                            digest: digest(&[
                                b"rank",
                                &market.adl_sweep.to_le_bytes(),
                                &chunk.data,
                                &accounts_bytes(&chunk),
                            ]),
                            instruction: chunk,
                            benign: &[
                                PerpsError::SlotAlreadyRanked,
                                PerpsError::RankingComplete,
                                PerpsError::NoAdlPending,
                            ],
                        })
                        .collect();
                    let outcomes = self.execute_all(decisions, summary).await;
                    let mut landed = 0;
                    for (outcome, ranked) in outcomes.iter().zip(ranked) {
                        if let Sent::Done = outcome {
                            summary.rank_transactions += 1;
                            summary.positions_ranked += ranked;
                            landed += 1;
                        }
                    }
                    landed
                }
                AdlStep::Fill(steps) => {
                    let mut landed = 0;
                    for instruction in steps {
                        let target = perps_client::adl::entries_in_step(&instruction)
                            .first()
                            .copied()
                            .unwrap_or(*market_key);
                        let decision = digest(&[
                            b"adl",
                            &state.to_le_bytes(),
                            &instruction.data,
                            &accounts_bytes(&instruction),
                        ]);
                        match self
                            .execute(
                                "adl",
                                index,
                                &target,
                                instruction,
                                decision,
                                &[
                                    PerpsError::NoAdlPending,
                                    PerpsError::AdlOutOfRankingOrder,
                                    PerpsError::RankingIncomplete,
                                ],
                                summary,
                            )
                            .await
                        {
                            Sent::Done => {
                                summary.adl_transactions += 1;
                                landed += 1;
                            }
                            // Never send a lower-ranked step past one that did not land: replan.
                            Sent::Skipped | Sent::Failed | Sent::NotSent => break,
                        }
                    }
                    landed
                }
            };
            progressed |= landed > 0;
            if landed == 0 || self.dry_run {
                break;
            }
            if round + 1 == MAX_ADL_ROUNDS {
                warn!(market = index, "ADL rounds used up: the next pass goes on");
            }
        }
        let completed = progressed && !self.market(market_key).await?.is_adl_pending();
        if completed {
            summary.adl_completed += 1;
            info!(market = index, "ADL completed");
        }
        Ok(completed)
    }

    /// Sends one decision unless it was already sent for the same state; logs one line.
    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &mut self,
        action: &'static str,
        market: u16,
        target: &Pubkey,
        instruction: Instruction,
        decision: u64,
        benign: &'static [PerpsError],
        summary: &mut PassSummary,
    ) -> Sent {
        let decision = Decision {
            action,
            market,
            target: *target,
            instruction,
            digest: decision,
            benign,
        };
        self.execute_all(vec![decision], summary)
            .await
            .pop()
            .unwrap_or(Sent::NotSent)
    }

    /// Sends independent decisions, each as its own transaction, up to `parallel_sends` in
    /// flight (none already sent for the same state, none in a dry run); their outcomes in order.
    async fn execute_all(
        &mut self,
        decisions: Vec<Decision>,
        summary: &mut PassSummary,
    ) -> Vec<Sent> {
        let mut outcomes: Vec<Sent> = decisions.iter().map(|_| Sent::NotSent).collect();
        let mut sending = Vec::new();
        for (i, d) in decisions.iter().enumerate() {
            if self.attempted.contains(d.digest) {
                debug!(action = d.action, market = d.market, target = %d.target, "already sent for this state");
            } else if self.dry_run {
                info!(action = d.action, market = d.market, target = %d.target, result = "dry-run", "action");
                summary.dry_run += 1;
                self.attempted.insert(d.digest);
            } else {
                sending.push(i);
            }
        }
        let transactions = sending
            .iter()
            .map(|i| vec![decisions[*i].instruction.clone()])
            .collect();
        let results = self.chain.send_all(transactions, self.parallel_sends).await;
        for (i, result) in sending.into_iter().zip(results) {
            outcomes[i] = self.record(&decisions[i], result, summary);
        }
        outcomes
    }

    /// Counts and logs what became of a decision sent. Only a landed transaction or a final
    /// refusal is remembered: a failure is retried when the next pass decides the same again.
    fn record(
        &mut self,
        d: &Decision,
        result: Result<(), SendError>,
        summary: &mut PassSummary,
    ) -> Sent {
        let (action, market, target) = (d.action, d.market, d.target);
        match result {
            Ok(()) => {
                let latency = self.detected.elapsed();
                info!(action, market, target = %target, result = "ok", latency_ms = latency.as_millis() as u64, "action");
                self.metrics.landed(latency);
                self.attempted.insert(d.digest);
                Sent::Done
            }
            Err(e) if d.benign.iter().any(|b| e.is(*b)) => {
                info!(action, market, target = %target, result = "skipped: already done", error = %e, "action");
                summary.skipped += 1;
                self.attempted.insert(d.digest);
                Sent::Skipped
            }
            Err(e) => {
                warn!(action, market, target = %target, result = "failed", error = %describe(&e), "action");
                self.metrics.error(match e {
                    SendError::Program(_) => "send_program",
                    SendError::Failed(_) => "send_failed",
                });
                summary.errors += 1;
                Sent::Failed
            }
        }
    }
}

fn bytemuck_bytes(position: &Position) -> Vec<u8> {
    anchor_lang::__private::bytemuck::bytes_of(position).to_vec()
}

fn bytemuck_market(market: &Market) -> Vec<u8> {
    anchor_lang::__private::bytemuck::bytes_of(market).to_vec()
}

fn accounts_bytes(instruction: &Instruction) -> Vec<u8> {
    instruction
        .accounts
        .iter()
        .flat_map(|a| a.pubkey.to_bytes())
        .collect()
}

/// A program error by name where the code is the program's.
fn describe(error: &SendError) -> String {
    match error {
        SendError::Program(code) => {
            let offset = anchor_lang::error::ERROR_CODE_OFFSET;
            format!(
                "program error {code} (perps error #{})",
                code.saturating_sub(offset)
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_memory_forgets_the_oldest_past_its_capacity() {
        let mut decisions = Decisions::new(3);
        for d in [1, 2, 3, 2] {
            decisions.insert(d);
        }
        assert_eq!(decisions.len(), 3);
        decisions.insert(4);
        assert_eq!(decisions.len(), 3);
        assert!(!decisions.contains(1));
        assert!([2, 3, 4].iter().all(|d| decisions.contains(*d)));
    }
}
