//! The paths, their instruction data, and running one stage of one.

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::hint::black_box;
use core::mem::{align_of, size_of};

use perps_engine::{
    adl::{
        adl_eligibility, adl_fill_lots, adl_order, adl_score, ranking_place, AdlEligibility,
        AdlScore,
    },
    book::{MakerResponse, OrderRef, TakerOrder},
    fees::fee,
    funding::{funding_index_delta, funding_owed, impact_premium, rate_from_premium, PremiumClock},
    liquidation::{plan_liquidation, LiquidationParams},
    BaseLots, Book, EngineError, OrderSide, PositionSide, PositionState, Price, RatePpm,
    SignedLots, SignedQuote, BOOK_SIDE_CAPACITY,
};

use crate::fixtures::{self, ADL_BANKRUPTCY_PRICE, ORACLE, TAKER, TICK};

/// The most positions one case sweeps here: their scores and the 10 KB ranking must fit the
/// 32 KB heap.
pub const MAX_ADL_CANDIDATES: u16 = 48;

/// A hot path of the engine, as the instruction data's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Path {
    /// Returns at once: the entrypoint's own cost (input parsing).
    Noop,
    /// Equity, maintenance and initial margin of one position with resting orders.
    MarginCheck,
    /// `plan_liquidation` of a large position: a bisection over its size.
    PartialLiquidation,
    BankruptcyPrice,
    /// Stages: 1 judges and scores `size` positions as a sweep does, 2 keeps them in the top-128
    /// ranking, 3 fills down it, 4 tries them against a full ranking they all rank below.
    Adl,
    /// A bid crossing the `size` best asks of a full book, each fill applied to a maker state
    /// with its fee.
    Match,
    /// An ask resting behind all 511 others: every one of them shifts.
    InsertWorst,
    /// An ask resting ahead of all 511 others: nothing shifts.
    InsertBest,
    /// Cancel by id of the worst ask: the search passes all bids, then 511 asks shift.
    CancelWorst,
    /// Cancel by id of the best ask: the search passes both full sides, nothing shifts.
    CancelBest,
    /// Cancel all 32 orders of one maker from a full book.
    CancelAll,
    /// A funding premium sample walking both sides of a full book, the crank's average, rate
    /// and index move, and one position's settlement.
    Funding,
}

/// The book account a path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookFixture {
    /// 512 bids and 512 asks.
    Full,
    /// 512 bids and 511 asks: room for one more ask.
    AskRoom,
}

impl BookFixture {
    pub fn asks(self) -> usize {
        match self {
            Self::Full => BOOK_SIDE_CAPACITY,
            Self::AskRoom => BOOK_SIDE_CAPACITY - 1,
        }
    }
}

impl Path {
    pub const ALL: [Path; 12] = [
        Path::Noop,
        Path::MarginCheck,
        Path::PartialLiquidation,
        Path::BankruptcyPrice,
        Path::Adl,
        Path::Match,
        Path::InsertWorst,
        Path::InsertBest,
        Path::CancelWorst,
        Path::CancelBest,
        Path::CancelAll,
        Path::Funding,
    ];

    pub fn from_byte(byte: u8) -> Option<Path> {
        Self::ALL.get(byte as usize).copied()
    }

    /// The last stage; stage 0 only builds the inputs.
    pub fn stages(self) -> u8 {
        match self {
            Path::Noop => 0,
            Path::Adl => 4,
            _ => 1,
        }
    }

    /// The sizes the path accepts; `None` when it takes no size (0 is passed).
    pub fn size_range(self) -> Option<(u16, u16)> {
        match self {
            Path::Adl => Some((1, MAX_ADL_CANDIDATES)),
            Path::Match => Some((1, BOOK_SIDE_CAPACITY as u16)),
            _ => None,
        }
    }

    pub fn book(self) -> Option<BookFixture> {
        match self {
            Path::Match
            | Path::CancelWorst
            | Path::CancelBest
            | Path::CancelAll
            | Path::Funding => Some(BookFixture::Full),
            Path::InsertWorst | Path::InsertBest => Some(BookFixture::AskRoom),
            _ => None,
        }
    }
}

/// `[path, stage, size (u16 LE)]`.
pub fn instruction_data(path: Path, stage: u8, size: u16) -> [u8; 4] {
    let size = size.to_le_bytes();
    [path as u8, stage, size[0], size[1]]
}

/// Why an instruction failed; the program returns it as its custom error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Failure {
    /// Unknown path, stage beyond the path's last, or size out of range.
    Instruction = 1,
    /// The book account is missing, misaligned or of the wrong size.
    Account = 2,
    /// The engine refused its inputs.
    Engine = 3,
    /// The path ran but its result is not what its inputs imply.
    Result = 4,
}

impl From<EngineError> for Failure {
    fn from(_: EngineError) -> Self {
        Failure::Engine
    }
}

fn check(holds: bool) -> Result<(), Failure> {
    if holds {
        Ok(())
    } else {
        Err(Failure::Result)
    }
}

/// Runs `data`'s path up to its stage; `account` is the book account's data for the paths that
/// take one.
pub fn run(data: &[u8], account: Option<&mut [u8]>) -> Result<(), Failure> {
    let [path, stage, size_lo, size_hi] = *data else {
        return Err(Failure::Instruction);
    };
    let path = Path::from_byte(path).ok_or(Failure::Instruction)?;
    let size = u16::from_le_bytes([size_lo, size_hi]);
    let size_ok = match path.size_range() {
        Some((low, high)) => (low..=high).contains(&size),
        None => size == 0,
    };
    if stage > path.stages() || !size_ok {
        return Err(Failure::Instruction);
    }
    let book = match path.book() {
        Some(fixture) => Some(book_in(account.ok_or(Failure::Account)?, fixture)?),
        None => None,
    };
    let size = size as usize;
    match (path, book) {
        (Path::Noop, _) => Ok(()),
        (Path::MarginCheck, _) => margin_check(stage),
        (Path::PartialLiquidation, _) => partial_liquidation(stage),
        (Path::BankruptcyPrice, _) => bankruptcy_price(stage),
        (Path::Adl, _) => adl(stage, size),
        (Path::Match, Some(book)) => match_order(stage, book, size),
        (Path::InsertWorst, Some(book)) => insert(stage, book, false),
        (Path::InsertBest, Some(book)) => insert(stage, book, true),
        (Path::CancelWorst, Some(book)) => cancel(stage, book, false),
        (Path::CancelBest, Some(book)) => cancel(stage, book, true),
        (Path::CancelAll, Some(book)) => cancel_all(stage, book),
        (Path::Funding, Some(book)) => funding(stage, book),
        _ => Err(Failure::Account),
    }
}

/// The book in an account's data, in place.
fn book_in(data: &mut [u8], fixture: BookFixture) -> Result<&mut Book, Failure> {
    if data.len() != size_of::<Book>() || data.as_ptr() as usize % align_of::<Book>() != 0 {
        return Err(Failure::Account);
    }
    // SAFETY: `Book` is `repr(C)` of integers and byte arrays, so every bit pattern is a valid
    // value, and the size and alignment were checked; the borrow of `data` is held throughout.
    let book = unsafe { &mut *data.as_mut_ptr().cast::<Book>() };
    let lens = (book.bids.len as usize, book.asks.len as usize);
    if lens != (BOOK_SIDE_CAPACITY, fixture.asks()) {
        return Err(Failure::Account);
    }
    Ok(book)
}

/// A long of 100,000 lots entered at 100 USDC with 600k USDC collateral, the oracle at 96:
/// equity 200k against 240k maintenance (2.5% of 9.6M).
fn underwater_long() -> PositionState {
    PositionState {
        collateral: SignedQuote(600_000_000_000),
        size: SignedLots(100_000),
        cost_basis: SignedQuote(10_000_000_000_000),
        open_bids: BaseLots(0),
        open_asks: BaseLots(0),
    }
}

const UNDERWATER_ORACLE: Price = Price(96_000_000);

fn margin_check(stage: u8) -> Result<(), Failure> {
    let tiers = black_box(fixtures::tiers());
    // 50 lots long at 100 USDC with 20 lots bid and 10 offered, 300 USDC of collateral.
    let state = black_box(PositionState {
        collateral: SignedQuote(300_000_000),
        size: SignedLots(50),
        cost_basis: SignedQuote(5_000_000_000),
        open_bids: BaseLots(20),
        open_asks: BaseLots(10),
    });
    if stage == 0 {
        return Ok(());
    }
    let health = state.health(ORACLE, &tiers, RatePpm::ONE)?;
    // 7,000 USDC worst case at 1% initial is 70: equity 300 meets it.
    check(health.meets_initial() && !health.is_liquidatable())
}

fn partial_liquidation(stage: u8) -> Result<(), Failure> {
    let tiers = black_box(fixtures::tiers());
    let state = black_box(underwater_long());
    let params = black_box(LiquidationParams {
        liquidation_fee: RatePpm(2_000),
        insurance_fee: RatePpm(1_000),
        buffer: RatePpm(100_000),
        min_position_notional: 10_000_000,
    });
    if stage == 0 {
        return Ok(());
    }
    let plan = plan_liquidation(&state, UNDERWATER_ORACLE, &tiers, &params)?;
    check(!plan.full && plan.lots.0 > 0 && plan.lots.0 < 100_000 && plan.deficit.0 == 0)
}

fn bankruptcy_price(stage: u8) -> Result<(), Failure> {
    let state = black_box(underwater_long());
    if stage == 0 {
        return Ok(());
    }
    // (Q − C) / q = (10M − 0.6M) USDC / 100,000 lots.
    check(state.bankruptcy_price()? == Price(94_000_000))
}

/// One place of the on-chain ranking, laid out as the program's `RankedPosition` (80 bytes) so
/// that insertion shifts as many bytes; `slot` and the padding are carried, never read here.
#[derive(Clone, Copy)]
#[allow(dead_code)]
struct Ranked {
    key: [u8; 32],
    score_num: [u8; 16],
    score_den: [u8; 16],
    lots: u64,
    slot: u32,
    _padding: [u8; 4],
}

impl Ranked {
    fn score(&self) -> AdlScore {
        AdlScore {
            negative: false,
            num: u128::from_le_bytes(self.score_num),
            den: u128::from_le_bytes(self.score_den),
        }
    }
}

/// Ranking capacity of the program's registry.
const RANKING_CAPACITY: usize = 128;

fn adl(stage: u8, n: usize) -> Result<(), Failure> {
    let tiers = black_box(fixtures::tiers());
    let swept = black_box(fixtures::adl_candidates(n));
    // A full ranking of positions scoring above every candidate, for stage 4.
    let full = black_box(alloc::vec![
        Ranked {
            key: [0xFF; 32],
            score_num: u128::MAX.to_le_bytes(),
            score_den: 1u128.to_le_bytes(),
            lots: 1,
            slot: 0,
            _padding: [0; 4],
        };
        RANKING_CAPACITY
    ]);
    if stage == 0 {
        return Ok(());
    }
    // The sweep's engine work per position: eligibility and score at the snapshot price.
    let mut scored: Vec<([u8; 32], AdlScore, u64)> = Vec::with_capacity(n);
    for (key, state) in &swept {
        if adl_eligibility(state, PositionSide::Long, ORACLE, &tiers)? == AdlEligibility::Eligible {
            scored.push((*key, adl_score(state, ORACLE)?, state.size.abs().0));
        }
    }
    check(scored.len() == n)?;
    if stage == 1 {
        black_box(&scored);
        return Ok(());
    }
    // Each kept in the top-K ranking at the engine's place, shifting the entries below it.
    let mut ranking = alloc::vec![Ranked { key: [0; 32], score_num: [0; 16], score_den: [0; 16], lots: 0, slot: 0, _padding: [0; 4] }; RANKING_CAPACITY];
    let mut len = 0;
    for (slot, (key, score, lots)) in scored.iter().enumerate() {
        let ranked = &ranking;
        if let Some(place) = ranking_place(
            len,
            RANKING_CAPACITY,
            |i| (ranked[i].score(), ranked[i].key),
            score,
            key,
        ) {
            len = (len + 1).min(RANKING_CAPACITY);
            ranking.copy_within(place..len - 1, place + 1);
            ranking[place] = Ranked {
                key: *key,
                score_num: score.num.to_le_bytes(),
                score_den: score.den.to_le_bytes(),
                lots: *lots,
                slot: slot as u32,
                _padding: [0; 4],
            };
        }
    }
    check(
        adl_order(
            (&ranking[0].score(), &ranking[0].key),
            (&ranking[len - 1].score(), &ranking[len - 1].key),
        ) != Ordering::Greater,
    )?;
    if stage == 2 {
        return Ok(());
    }
    // Fills down the ranking: more lots than all candidates hold, so every one of them gives.
    let mut book_lots: u64 = swept.iter().map(|(_, s)| s.size.abs().0).sum::<u64>() + 1;
    let total = book_lots;
    for entry in &ranking[..len] {
        let state = &swept
            .iter()
            .find(|(k, _)| *k == entry.key)
            .expect("ranked")
            .1;
        let lots = adl_fill_lots(
            state,
            PositionSide::Short,
            ADL_BANKRUPTCY_PRICE.into(),
            ORACLE,
            &tiers,
            entry.lots,
            book_lots,
        )?;
        book_lots -= lots.0;
    }
    check(book_lots > 0 && book_lots < total)?;
    if stage == 3 {
        return Ok(());
    }
    // The common case of a large market: each position ranks below a full ranking's cut.
    for (key, score, _) in &scored {
        let place = ranking_place(
            RANKING_CAPACITY,
            RANKING_CAPACITY,
            |i| (full[i].score(), full[i].key),
            score,
            key,
        );
        check(place.is_none())?;
    }
    Ok(())
}

fn match_order(stage: u8, book: &mut Book, k: usize) -> Result<(), Failure> {
    let asks = book.asks.orders();
    let reached = &asks[asks.len() - k..];
    let taker = black_box(TakerOrder {
        side: OrderSide::Bid,
        limit_price: Price(reached[0].price),
        lots: BaseLots(reached.iter().map(|o| o.lots).sum()),
        taker: TAKER,
    });
    if stage == 0 {
        return Ok(());
    }
    // The engine's share of settling each maker: the fill into its position and its fee.
    let mut maker = PositionState {
        collateral: SignedQuote(1_000_000_000_000),
        ..PositionState::default()
    };
    let mut maker_fees = SignedQuote::ZERO;
    let outcome = book.match_order::<Failure>(
        &taker,
        |order, offered| {
            let price = Price(order.price);
            maker.apply_fill(SignedLots(-(offered.0 as i64)), price)?;
            maker_fees = maker_fees.checked_add(fee(price.value_of(offered)?, 2)?)?;
            Ok(MakerResponse::Fill {
                lots: offered,
                cancel_rest: false,
            })
        },
        |_| {},
    )?;
    check(
        outcome.fills as usize == k
            && outcome.filled == taker.lots
            && maker.size.0 == -(taker.lots.0 as i64)
            && maker_fees.0 > 0,
    )
}

fn insert(stage: u8, book: &mut Book, best: bool) -> Result<(), Failure> {
    let asks = book.asks.orders();
    let price = black_box(if best {
        asks[asks.len() - 1].price - TICK
    } else {
        asks[0].price + TICK
    });
    if stage == 0 {
        return Ok(());
    }
    let id = book.rest(OrderSide::Ask, TAKER, Price(price), BaseLots(10), 1, false)?;
    let asks = book.asks.orders();
    let placed = if best { asks[asks.len() - 1] } else { asks[0] };
    check(asks.len() == BOOK_SIDE_CAPACITY && placed.order_id == id)
}

fn cancel(stage: u8, book: &mut Book, best: bool) -> Result<(), Failure> {
    let asks = book.asks.orders();
    let target = black_box(if best { asks[asks.len() - 1] } else { asks[0] });
    if stage == 0 {
        return Ok(());
    }
    let cancelled = book.cancel(&target.maker, OrderRef::OrderId(target.order_id));
    check(cancelled == Some((OrderSide::Ask, target)))
}

fn cancel_all(stage: u8, book: &mut Book) -> Result<(), Failure> {
    let asks = book.asks.orders();
    let maker = black_box(asks[asks.len() - 1].maker);
    if stage == 0 {
        return Ok(());
    }
    // The program records each cancelled order for its event.
    let mut ids = 0u64;
    let totals = book.cancel_all(&maker, &mut |_, order| {
        ids = ids.wrapping_add(order.order_id)
    });
    check(totals.orders as usize == 2 * BOOK_SIDE_CAPACITY / fixtures::MAKERS && ids > 0)
}

/// The oracle half a cent under the book's mid: a 500 ppm premium.
const FUNDING_ORACLE: Price = Price(99_950_000);

fn funding(stage: u8, book: &mut Book) -> Result<(), Failure> {
    let book = black_box(&*book);
    if stage == 0 {
        return Ok(());
    }
    // The most a premium sample costs (DESIGN.md §10): an impact notional larger than either
    // side of a full book, so both sides are walked to the end (and count as the oracle).
    let premium = impact_premium(book, FUNDING_ORACLE, RatePpm(500_000), u64::MAX / 2)?;
    let mut clock = PremiumClock::default();
    clock.sample(1_800, 250)?;
    clock.sample(3_600, premium)?;
    let rate = rate_from_premium(clock.take_average(3_600)?, RatePpm(1_000));
    let delta = funding_index_delta(rate, FUNDING_ORACLE, 3_600, 3_600)?;
    let (owed, _) = funding_owed(SignedLots(50), delta)?;
    check(premium == 0 && rate == 125 && owed.0 > 0)
}
