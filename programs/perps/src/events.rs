//! Events for integrators and indexers (DESIGN.md §2), emitted as self-CPIs (Anchor's event-cpi
//! convention): an instruction's events, in the order they happened, are one `Events` batch, the
//! data of an inner instruction of the program to itself signed by its event authority, so they
//! survive log truncation and are read from the transaction's inner instructions. Events of an
//! instruction that writes the market carry an `EventHeader`: the market, its next sequence
//! number, and the slot and time.

use anchor_lang::solana_program::instruction::Instruction;
#[cfg(not(target_os = "solana"))]
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::{prelude::*, Discriminator};

use crate::state::{CancelReason, Market, MarketStatus, OrderSide};

/// Where and when a market event happened: the market's `sequence` goes up by one with each
/// event it emits, so an indexer sees a gap as a missed event.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHeader {
    /// The market.
    pub market: Pubkey,
    /// The market's event sequence number.
    pub sequence: u64,
    /// Its registry slot.
    pub slot: u64,
    /// Unix time.
    pub unix_timestamp: i64,
}

impl EventHeader {
    /// The header of an event of `market`, numbered when it is emitted.
    pub fn of(market: Pubkey) -> Self {
        Self {
            market,
            ..Self::default()
        }
    }
}

/// An event that carries an `EventHeader`.
pub trait MarketEvent: BatchedEvent {
    fn header_mut(&mut self) -> &mut EventHeader;
}

macro_rules! market_events {
    ($($event:ident),+ $(,)?) => {
        $(
            impl MarketEvent for $event {
                fn header_mut(&mut self) -> &mut EventHeader {
                    &mut self.header
                }
            }
        )+

        impl PerpsEvent {
            /// The market, sequence number, slot and time of a market event.
            pub fn header(&self) -> Option<&EventHeader> {
                match self {
                    $(PerpsEvent::$event(event) => Some(&event.header),)+
                    _ => None,
                }
            }
        }
    };
}

market_events!(
    MarketParamsUpdated,
    MarketStatusChanged,
    CollateralWithdrawn,
    PositionSettled,
    OrderPlaced,
    Fill,
    OrderCancelled,
    FundingUpdated,
    CircuitBreakerTripped,
    CircuitBreakerCleared,
    Liquidation,
    Bankruptcy,
    InsuranceWithdrawn,
    AdlStarted,
    AdlBookTakeover,
    AdlRankingStarted,
    AdlFilled,
    AdlSkipped,
    AdlCompleted,
);

/// Solana's limit on a CPI's instruction data: one self-CPI's tag, discriminator, count and events.
const MAX_BATCH_DATA: usize = 10 * 1024;
/// Anchor's event tag, `Events`' discriminator and the batch's length, before the events.
const BATCH_HEADER: usize = 8 + 8 + 4;
const _: () =
    assert!(Events::DISCRIMINATOR.len() == 8 && anchor_lang::event::EVENT_IX_TAG_LE.len() == 8);
/// Room for the event that overflows a batch, before it moves to the next.
const LARGEST_EVENT: usize = 1024;

/// Collects an instruction's events and emits them through the program's event authority (the
/// `event_authority` account `#[event_cpi]` adds) as `Events` batches: one self-CPI for all of
/// them (more only past 10 KiB), since every CPI counts toward a transaction's 64 instruction
/// trace entries and a taker sweeping many orders, or ADL cancelling many, would otherwise run
/// out. `flush` sends what is collected.
pub struct Emitter<'info> {
    authority: AccountInfo<'info>,
    slot: u64,
    unix_timestamp: i64,
    /// The self-CPI's data being built: the header, then the events. One buffer, reserved once
    /// and reused by every batch: the SBF heap is a 32 KiB bump allocator that never frees, so a
    /// buffer grown by doubling (or copied per event) ran out of it in an `adl` of 21 candidates.
    data: Vec<u8>,
    count: u32,
}

impl<'info> Emitter<'info> {
    pub fn new(authority: &UncheckedAccount<'info>) -> Result<Self> {
        let clock = Clock::get()?;
        Ok(Self {
            authority: authority.to_account_info(),
            slot: clock.slot,
            unix_timestamp: clock.unix_timestamp,
            data: Vec::new(),
            count: 0,
        })
    }

    /// Adds `event` to the batch, as the `PerpsEvent` variant it is.
    pub fn emit<E: BatchedEvent>(&mut self, event: &E) -> Result<()> {
        self.start_batch();
        let start = self.data.len();
        self.data.push(E::VARIANT);
        event.serialize(&mut self.data)?;
        if self.data.len() > MAX_BATCH_DATA {
            // The event goes first in the next batch.
            let event = self.data.split_off(start);
            self.flush()?;
            self.start_batch();
            self.data.extend_from_slice(&event);
        }
        self.count += 1;
        Ok(())
    }

    fn start_batch(&mut self) {
        if self.data.is_empty() {
            self.data.reserve_exact(MAX_BATCH_DATA + LARGEST_EVENT);
            self.data
                .extend_from_slice(anchor_lang::event::EVENT_IX_TAG_LE);
            self.data.extend_from_slice(Events::DISCRIMINATOR);
            self.data.extend_from_slice(&0u32.to_le_bytes());
        }
    }

    /// The circuit breaker's events of a price observation, as market events.
    pub fn emit_breaker(
        &mut self,
        market: &mut Market,
        breaker: crate::oracle::BreakerEvents,
    ) -> Result<()> {
        crate::emit_present!(self, market = market; breaker.cleared, breaker.tripped);
        Ok(())
    }

    /// Numbers `event` with `market`'s next sequence number, stamps the slot and time, and adds
    /// it to the batch.
    pub fn emit_market<E: MarketEvent>(&mut self, market: &mut Market, mut event: E) -> Result<()> {
        market.event_sequence = market
            .event_sequence
            .checked_add(1)
            .ok_or(crate::error::PerpsError::MathOverflow)?;
        let header = event.header_mut();
        header.sequence = market.event_sequence;
        header.slot = self.slot;
        header.unix_timestamp = self.unix_timestamp;
        self.emit(&event)
    }

    /// `emit` of the instruction's only event, sent at once.
    pub fn emit_now<E: BatchedEvent>(mut self, event: &E) -> Result<()> {
        self.emit(event)?;
        self.flush()
    }

    /// `emit_market` of the instruction's only event, sent at once.
    pub fn emit_market_now<E: MarketEvent>(mut self, market: &mut Market, event: E) -> Result<()> {
        self.emit_market(market, event)?;
        self.flush()
    }

    /// Emits the batch collected so far as one `Events` self-CPI: Anchor's event tag, the batch's
    /// discriminator, then the Borsh `Vec<PerpsEvent>`.
    pub fn flush(&mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        self.data[BATCH_HEADER - 4..BATCH_HEADER].copy_from_slice(&self.count.to_le_bytes());
        self.count = 0;
        let instruction = Instruction {
            program_id: crate::ID,
            accounts: vec![AccountMeta::new_readonly(*self.authority.key, true)],
            data: std::mem::take(&mut self.data),
        };
        self.data = invoke_by_event_authority(instruction, &self.authority)?;
        self.data.clear();
        Ok(())
    }
}

const EVENT_AUTHORITY_SEEDS: &[&[&[u8]]] =
    &[&[b"__event_authority", &[crate::EVENT_AUTHORITY_AND_BUMP.1]]];

/// The self-CPI, signed by the event authority, handing back the instruction's data buffer.
/// solana-cpi's `invoke_signed` copies the instruction before the syscall (up to 10 KiB more of
/// the 32 KiB heap); the emitter owns it, so on SBF it goes to the syscall as it is. (The
/// authority is a data-less signer: `invoke_signed`'s borrow checks have nothing to check.)
#[cfg(target_os = "solana")]
fn invoke_by_event_authority(
    instruction: Instruction,
    authority: &AccountInfo<'_>,
) -> Result<Vec<u8>> {
    use solana_stable_layout::stable_instruction::StableInstruction;
    let instruction = StableInstruction::from(instruction);
    // SAFETY: the pointers are to a live StableInstruction, one AccountInfo and the seeds, as
    // solana-cpi's own `invoke_signed_unchecked` passes them.
    let result = unsafe {
        solana_cpi::syscalls::sol_invoke_signed_rust(
            &instruction as *const StableInstruction as *const u8,
            authority as *const AccountInfo as *const u8,
            1,
            EVENT_AUTHORITY_SEEDS as *const _ as *const u8,
            EVENT_AUTHORITY_SEEDS.len() as u64,
        )
    };
    if result != 0 {
        return Err(ProgramError::from(result).into());
    }
    Ok(instruction.data.into())
}

#[cfg(not(target_os = "solana"))]
fn invoke_by_event_authority(
    instruction: Instruction,
    authority: &AccountInfo<'_>,
) -> Result<Vec<u8>> {
    invoke_signed(
        &instruction,
        std::slice::from_ref(authority),
        EVENT_AUTHORITY_SEEDS,
    )?;
    Ok(instruction.data)
}

/// An event the emitter batches: its variant of `PerpsEvent`.
pub trait BatchedEvent: AnchorSerialize {
    const VARIANT: u8;
}

macro_rules! all_events {
    ($($event:ident),+ $(,)?) => {
        /// Any event of the program, as an `Events` batch carries it.
        #[derive(AnchorSerialize, AnchorDeserialize)]
        pub enum PerpsEvent {
            $($event($event),)+
        }

        /// `PerpsEvent`'s variants, by index.
        #[repr(u8)]
        enum Variant {
            $($event,)+
        }

        $(
            impl BatchedEvent for $event {
                const VARIANT: u8 = Variant::$event as u8;
            }
        )+
    };
}

all_events!(
    ExchangeInitialized,
    AdminProposed,
    AdminChanged,
    TreasuryChanged,
    OracleAuthorityChanged,
    ExchangePauseSet,
    PriceFeedCreated,
    OrderBookInitialized,
    PositionRegistryInitialized,
    MarketCreated,
    MarketParamsUpdated,
    MarketStatusChanged,
    PriceFeedUpdated,
    PositionOpened,
    CollateralDeposited,
    CollateralWithdrawn,
    PositionClosed,
    PositionSettled,
    InsuranceFunded,
    OrderPlaced,
    Fill,
    OrderCancelled,
    FundingUpdated,
    CircuitBreakerTripped,
    CircuitBreakerCleared,
    Liquidation,
    Bankruptcy,
    InsuranceWithdrawn,
    AdlStarted,
    AdlBookTakeover,
    AdlRankingStarted,
    AdlChunkRanked,
    AdlRankingCompleted,
    AdlFilled,
    AdlSkipped,
    AdlCompleted,
);

/// The events of one instruction (or one 10 KiB part of them), in the order they happened: the
/// only event the program emits on the wire.
#[event]
pub struct Events {
    /// The events, in the order they happened.
    pub events: Vec<PerpsEvent>,
}

/// The exchange was created.
#[event]
pub struct ExchangeInitialized {
    /// The admin.
    pub admin: Pubkey,
    /// The collateral mint.
    pub collateral_mint: Pubkey,
    /// The token account receiving the treasury's share of fees.
    pub treasury: Pubkey,
}

/// The admin proposed `proposed` as the next admin (`Pubkey::default()`: proposal withdrawn).
#[event]
pub struct AdminProposed {
    /// The admin.
    pub admin: Pubkey,
    /// The proposed admin (`Pubkey::default()`: proposal withdrawn).
    pub proposed: Pubkey,
}

/// The proposed admin accepted.
#[event]
pub struct AdminChanged {
    /// The admin before.
    pub old_admin: Pubkey,
    /// The admin after.
    pub new_admin: Pubkey,
}

/// The admin pointed the treasury elsewhere.
#[event]
pub struct TreasuryChanged {
    /// The treasury before.
    pub old_treasury: Pubkey,
    /// The treasury after.
    pub new_treasury: Pubkey,
}

/// The admin rotated a price feed's authority.
#[event]
pub struct OracleAuthorityChanged {
    /// The price feed account.
    pub feed: Pubkey,
    /// The authority before.
    pub old_authority: Pubkey,
    /// The authority after.
    pub new_authority: Pubkey,
}

/// The exchange was paused (or resumed).
#[event]
pub struct ExchangePauseSet {
    /// Whether the exchange is paused.
    pub paused: bool,
}

/// The admin created a price feed for a market index.
#[event]
pub struct PriceFeedCreated {
    /// The price feed account.
    pub feed: Pubkey,
    /// The market.
    pub market: Pubkey,
    /// The key allowed to push prices.
    pub authority: Pubkey,
    /// The feed's exponent: prices are `price · 10^expo` quote units per base unit.
    pub expo: i32,
}

/// The admin adopted a market's order book.
#[event]
pub struct OrderBookInitialized {
    /// The market.
    pub market: Pubkey,
    /// The order book account.
    pub order_book: Pubkey,
}

/// The admin adopted a market's position registry.
#[event]
pub struct PositionRegistryInitialized {
    /// The market.
    pub market: Pubkey,
    /// The position registry account.
    pub registry: Pubkey,
    /// Slots in the registry.
    pub capacity: u32,
}

/// A market was created.
#[event]
pub struct MarketCreated {
    /// The market.
    pub market: Pubkey,
    /// The market's index.
    pub index: u16,
    /// The market's symbol, UTF-8, zero-padded.
    pub symbol: [u8; 16],
    /// The oracle account.
    pub oracle: Pubkey,
}

/// The admin replaced a market's parameters.
#[event]
pub struct MarketParamsUpdated {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
}

/// The admin changed a market's status.
#[event]
pub struct MarketStatusChanged {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The status before.
    pub old_status: MarketStatus,
    /// The status after.
    pub new_status: MarketStatus,
    /// Quote atoms per lot; non-zero only when the market settles.
    pub settlement_price: u64,
}

/// The feed's authority pushed a price.
#[event]
pub struct PriceFeedUpdated {
    /// The price feed account.
    pub feed: Pubkey,
    /// Price in quote atoms per lot.
    pub price: i64,
    /// Confidence interval, in the same units as the price.
    pub conf: u64,
    /// Unix time of the price.
    pub publish_time: i64,
}

/// A position's account was opened.
#[event]
pub struct PositionOpened {
    /// The market.
    pub market: Pubkey,
    /// The position's owner.
    pub owner: Pubkey,
    /// The Position account.
    pub position: Pubkey,
}

/// Collateral was deposited into a position.
#[event]
pub struct CollateralDeposited {
    /// The Position account.
    pub position: Pubkey,
    /// Quote atoms.
    pub amount: u64,
    /// The position's collateral after, in quote atoms.
    pub collateral: i64,
}

/// Collateral was withdrawn from a position.
#[event]
pub struct CollateralWithdrawn {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// Quote atoms.
    pub amount: u64,
    /// The position's collateral after, in quote atoms.
    pub collateral: i64,
}

/// A position's account was closed.
#[event]
pub struct PositionClosed {
    /// The market.
    pub market: Pubkey,
    /// The position's owner.
    pub owner: Pubkey,
    /// The Position account.
    pub position: Pubkey,
}

/// A position of a Settled market closed at its settlement price (`settle_position`).
#[event]
pub struct PositionSettled {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// Signed lots closed (positive: a long sold), at `price` quote atoms a lot, without fee.
    pub lots: i64,
    /// Price in quote atoms per lot.
    pub price: u64,
    /// Realized into collateral by the close.
    pub realized_pnl: i64,
    /// Funding settled first (positive paid, negative received).
    pub funding: i64,
    /// Lots of the resting orders cancelled.
    pub cancelled_lots: u64,
    /// The position's collateral after: what its owner may withdraw.
    pub collateral: i64,
    /// From the collateral vault to the insurance vault: the market's whole atoms of funding
    /// rounding, and a flat ADL book's surplus.
    pub to_insurance: u64,
    /// From the insurance vault: into the position, when the settlement price left it below zero,
    /// and into a flat ADL book's deficit.
    pub from_insurance: u64,
}

/// Someone added to a market's insurance vault.
#[event]
pub struct InsuranceFunded {
    /// The market.
    pub market: Pubkey,
    /// Who funded it.
    pub funder: Pubkey,
    /// Quote atoms.
    pub amount: u64,
    /// The insurance vault's balance after, in quote atoms.
    pub vault_balance: u64,
}

/// An order was placed: what filled on arrival and what rests.
#[event]
pub struct OrderPlaced {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// The resting order's id; 0 when nothing rested.
    pub order_id: u64,
    /// The id the client gave the order.
    pub client_order_id: u64,
    /// Bid or ask.
    pub side: OrderSide,
    /// Price in quote atoms per lot.
    pub price: u64,
    /// Lots after any reduce-only cut.
    pub lots: u64,
    /// Lots filled on arrival.
    pub filled: u64,
    /// Lots resting on the book afterwards.
    pub rested: u64,
}

/// A taker's order filled against a resting order.
#[event]
pub struct Fill {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The maker's Position account.
    pub maker: Pubkey,
    /// The taker's Position account.
    pub taker: Pubkey,
    /// The maker's order id.
    pub maker_order_id: u64,
    /// The taker's side.
    pub taker_side: OrderSide,
    /// Price in quote atoms per lot.
    pub price: u64,
    /// Lots (base lots).
    pub lots: u64,
    /// Negative is a rebate.
    pub maker_fee: i64,
    /// The taker's fee in quote atoms.
    pub taker_fee: i64,
}

/// A resting order left the book without filling.
#[event]
pub struct OrderCancelled {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// One event per order, however many a cancel-all, a liquidation or self-trade prevention
    /// took off the book.
    pub order_id: u64,
    /// Bid or ask.
    pub side: OrderSide,
    /// The lots it still had.
    pub lots: u64,
    /// Why it left the book.
    pub reason: CancelReason,
}

/// Funding was cranked: the index moved and rounding went to insurance.
#[event]
pub struct FundingUpdated {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The book's time-weighted impact premium over the oracle since the last crank (signed
    /// ppm), before the rate cap.
    pub premium_ppm: i64,
    /// The oracle account.
    pub oracle: u64,
    /// The funding rate applied, signed ppm of the oracle per interval.
    pub rate_ppm: i64,
    /// The cumulative funding index after, in millionths of a quote atom per lot.
    pub funding_index: i64,
    /// Funding rounding swept to insurance, in quote atoms.
    pub swept_to_insurance: u64,
}

/// A fast price move put the market into ReduceOnly.
#[event]
pub struct CircuitBreakerTripped {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The window's reference price the move was measured from.
    pub reference_price: u64,
    /// Price in quote atoms per lot.
    pub price: u64,
    /// When the market returns to Active by itself.
    pub until: i64,
}

/// The circuit breaker's cool-down ended: the market is Active again.
#[event]
pub struct CircuitBreakerCleared {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
}

/// A liquidator took lots over from a position below maintenance margin.
#[event]
pub struct Liquidation {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// The liquidator's Position account, which took the lots over.
    pub liquidator: Pubkey,
    /// Lots (base lots).
    pub lots: u64,
    /// Transfer price per lot, and the oracle price it was taken from.
    pub price: u64,
    /// The oracle price, in quote atoms per lot.
    pub oracle_price: u64,
    /// The liquidator's price improvement, `lots · |oracle − price|`.
    pub liquidator_fee: u64,
    /// The insurance vault's fee, in quote atoms.
    pub insurance_fee: u64,
    /// Whether the whole position was taken over.
    pub full: bool,
}

/// A liquidated position's equity at the oracle was negative: what the insurance vault paid and what it left for ADL.
#[event]
pub struct Bankruptcy {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// The position's negative equity at the oracle, in quote atoms.
    pub deficit: u64,
    /// What the insurance vault paid, in quote atoms.
    pub paid_by_insurance: u64,
    /// What the insurance vault could not pay, left for ADL.
    pub left_for_adl: u64,
    /// Set when the position was taken into the ADL book: its bankruptcy price there (negative
    /// for a short that lost more than its collateral and all it sold for), and its lots.
    pub bankruptcy_price: i64,
    /// Lots (base lots).
    pub lots: u64,
}

/// The admin took insurance above the market's floor.
#[event]
pub struct InsuranceWithdrawn {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// Quote atoms.
    pub amount: u64,
    /// The insurance vault's balance after, in quote atoms.
    pub vault_balance: u64,
}

/// The market entered ADL: a bankruptcy the vault could not cover was taken into its ADL book.
#[event]
pub struct AdlStarted {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The book's lots and the price at which its equity is zero.
    pub lots: u64,
    /// The price at which the position's equity is zero, in quote atoms per lot (negative for a short that lost more than it sold for).
    pub bankruptcy_price: i64,
}

/// A bankrupt position the vault could not cover was taken over into the market's ADL book.
#[event]
pub struct AdlBookTakeover {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The Position account.
    pub position: Pubkey,
    /// Signed lots taken over (positive long), and the book's lots and bankruptcy price after.
    pub lots: i64,
    /// The ADL book's signed lots after.
    pub book_lots: i64,
    /// The ADL book's bankruptcy price after.
    pub book_bankruptcy_price: i64,
}

/// A sweep of the registry started: every position will be ranked at `snapshot_price`.
#[event]
pub struct AdlRankingStarted {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The ADL sweep (counted from 1).
    pub sweep: u32,
    /// The oracle price the sweep ranks at, in quote atoms per lot.
    pub snapshot_price: u64,
    /// The side ranked (0 long, 1 short): opposite the ADL book.
    pub candidate_side: u8,
}

/// One chunk of registry slots was ranked.
#[event]
pub struct AdlChunkRanked {
    /// The market.
    pub market: Pubkey,
    /// The ADL sweep (counted from 1).
    pub sweep: u32,
    /// The chunk's first registry slot.
    pub first_slot: u32,
    /// Slots in the chunk.
    pub slot_count: u32,
    /// Positions in the chunk, and how many of them were eligible.
    pub positions: u32,
    /// How many of them the sweep ranks.
    pub eligible: u32,
}

/// Every slot of the sweep is ranked: ADL fills may start.
#[event]
pub struct AdlRankingCompleted {
    /// The market.
    pub market: Pubkey,
    /// The ADL sweep (counted from 1).
    pub sweep: u32,
    /// The complete ranking's size: every eligible position and their lots.
    pub eligible_count: u32,
    /// Their lots.
    pub eligible_lots: u64,
    /// How many of the best are kept on-chain, in order.
    pub ranked: u32,
}

/// A ranked position was deleveraged against the ADL book.
#[event]
pub struct AdlFilled {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The deleveraged position.
    pub candidate: Pubkey,
    /// Lots (base lots).
    pub lots: u64,
    /// Both sides close here, without fees: the book's bankruptcy price while it is insolvent
    /// (negative when it is short beyond all it sold for: the candidate pays on top of its lots),
    /// else the oracle.
    pub price: i64,
    /// The oracle price, in quote atoms per lot.
    pub oracle_price: u64,
    /// What the candidate gave up against closing at the oracle, `lots · |price − oracle|`.
    pub haircut: u64,
    /// The candidate's score at the snapshot price, as the exact fraction `score_num / score_den`.
    pub score_num: u128,
    /// The score's denominator.
    pub score_den: u128,
    /// 1-based rank in the sweep's complete ranking of every eligible position.
    pub rank: u32,
    /// The ADL sweep (counted from 1).
    pub sweep: u32,
}

/// A ranked position was passed over: closed, flipped, liquidatable, or without equity to give.
#[event]
pub struct AdlSkipped {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// The deleveraged position.
    pub candidate: Pubkey,
    /// 1-based rank in the sweep's complete ranking.
    pub rank: u32,
    /// The ADL sweep (counted from 1).
    pub sweep: u32,
}

/// The ADL book is closed: the market leaves ADL.
#[event]
pub struct AdlCompleted {
    /// Where and when: the market, its event sequence number, the slot and the time.
    pub header: EventHeader,
    /// What the book had left (rounding dust, or its surplus when it closed solvent at the
    /// oracle), paid to the insurance vault.
    pub to_insurance: u64,
}

/// Emits each of the events given as `Option`s that is present, in order, through `$emitter`;
/// with `market = $market`, as market events numbered in that order.
#[macro_export]
macro_rules! emit_present {
    ($emitter:expr; $($event:expr),+ $(,)?) => {
        $(
            if let Some(event) = $event {
                $emitter.emit(&event)?;
            }
        )+
    };
    ($emitter:expr, market = $market:expr; $($event:expr),+ $(,)?) => {
        $(
            if let Some(event) = $event {
                $emitter.emit_market(&mut *$market, event)?;
            }
        )+
    };
}
