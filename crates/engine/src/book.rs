//! A fixed-capacity central limit order book in price-time priority (DESIGN.md §9), over plain
//! arrays so that the program can keep it zero-copy in one account and the engine can test it
//! without Solana.
//!
//! Each side is kept sorted from worst to best, so the best order is the last one: matching pops
//! from the end in O(1), and inserting near the top of the book shifts few orders.

use crate::{math, BaseLots, EngineError, EngineResult, Price, SignedQuote};

/// Resting orders per side.
pub const BOOK_SIDE_CAPACITY: usize = 512;

/// Which way an order trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSide {
    Bid,
    Ask,
}

impl OrderSide {
    pub fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }

    /// +1 for a bid (it buys), −1 for an ask.
    pub fn sign(self) -> i64 {
        match self {
            Self::Bid => 1,
            Self::Ask => -1,
        }
    }

    /// Whether an order on this side at `limit` trades with a resting order at `resting`.
    pub fn crosses(self, limit: Price, resting: Price) -> bool {
        match self {
            Self::Bid => resting <= limit,
            Self::Ask => resting >= limit,
        }
    }
}

/// Whether `price` lies within `band` of `oracle`: `|price − oracle| ≤ band · oracle`.
pub fn within_band(price: Price, oracle: Price, band: crate::RatePpm) -> bool {
    let gap = price.0.abs_diff(oracle.0);
    math::mul_wide_u64(gap, crate::PPM as u64) <= math::mul_wide_u64(oracle.0, band.0 as u64)
}

/// One resting order. `maker` is the maker's position address.
#[repr(C)]
#[cfg_attr(feature = "bytemuck", derive(bytemuck::Pod, bytemuck::Zeroable))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestingOrder {
    pub maker: [u8; 32],
    /// Unique and increasing in time: a lower id was placed earlier.
    pub order_id: u64,
    pub client_order_id: u64,
    pub price: u64,
    pub lots: u64,
    /// 1 when the order may only reduce its maker's position.
    pub reduce_only: u8,
    pub _padding: [u8; 7],
}

/// One side of the book, sorted worst to best.
#[repr(C)]
#[cfg_attr(feature = "bytemuck", derive(bytemuck::Pod, bytemuck::Zeroable))]
#[derive(Clone, Copy)]
pub struct BookSide {
    pub len: u64,
    pub orders: [RestingOrder; BOOK_SIDE_CAPACITY],
}

/// How a resting order is named by its maker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderRef {
    OrderId(u64),
    ClientOrderId(u64),
}

/// What the settling side answers for one resting order the taker reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MakerResponse {
    /// Fill `lots` (at most what was offered); with `cancel_rest`, the order's remainder is
    /// cancelled too (a reduce-only order whose maker has nothing left to reduce).
    Fill { lots: BaseLots, cancel_rest: bool },
    /// The maker cannot be settled here (its account was not supplied): matching ends.
    Stop,
}

/// What a taker order did to the book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOutcome {
    pub filled: BaseLots,
    /// `Σ lots · price` of the fills.
    pub quote: SignedQuote,
    pub fills: u32,
    /// The taker's own resting orders that were in the way, cancelled (self-trade prevention).
    pub self_trade_cancelled_orders: u32,
    pub self_trade_cancelled_lots: BaseLots,
    /// Matching ended at a maker that could not be settled.
    pub stopped: bool,
}

/// Open order totals of one maker, removed in a mass cancel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CancelledTotals {
    pub orders: u32,
    pub bid_lots: BaseLots,
    pub ask_lots: BaseLots,
}

impl BookSide {
    pub fn orders(&self) -> &[RestingOrder] {
        &self.orders[..self.len as usize]
    }

    pub fn best(&self) -> Option<&RestingOrder> {
        self.orders().last()
    }

    pub fn is_full(&self) -> bool {
        self.len as usize >= BOOK_SIDE_CAPACITY
    }

    /// `a` has priority over `b` on `side`: a better price, or the same price and earlier.
    fn outranks(side: OrderSide, a: &RestingOrder, b: &RestingOrder) -> bool {
        if a.price != b.price {
            side.crosses(Price(a.price), Price(b.price)) // for bids a higher price; for asks lower
        } else {
            a.order_id < b.order_id
        }
    }

    fn insert(&mut self, side: OrderSide, order: RestingOrder) -> EngineResult<()> {
        if self.is_full() {
            return Err(EngineError::BookFull);
        }
        let len = self.len as usize;
        let at = self.orders[..len].partition_point(|o| Self::outranks(side, &order, o));
        self.orders.copy_within(at..len, at + 1);
        self.orders[at] = order;
        self.len += 1;
        Ok(())
    }

    /// The order a new order at `price` pushes off this side when it is full: the worst one (the
    /// worst price, the latest at that price), if the new order has a strictly better price (at
    /// an equal price the resting order came first and keeps its place). `None` while the side
    /// has room, or when the new order would rank last.
    pub fn evictee(&self, side: OrderSide, price: Price) -> Option<&RestingOrder> {
        let worst = self.orders().first().filter(|_| self.is_full())?;
        (worst.price != price.0 && side.crosses(price, Price(worst.price))).then_some(worst)
    }

    fn remove_at(&mut self, index: usize) -> RestingOrder {
        let len = self.len as usize;
        let order = self.orders[index];
        self.orders.copy_within(index + 1..len, index);
        self.orders[len - 1] = RestingOrder::default();
        self.len -= 1;
        order
    }

    /// Removes every order `remove` selects, keeping the others in order; calls `removed` on each.
    fn retain(
        &mut self,
        mut remove: impl FnMut(&RestingOrder) -> bool,
        mut removed: impl FnMut(&RestingOrder),
    ) {
        let len = self.len as usize;
        let mut kept = 0;
        for i in 0..len {
            let order = &self.orders[i];
            if remove(order) {
                removed(order);
            } else {
                // Orders before the first removal stay where they are: no copy (a 72-byte copy
                // per order is most of a mass cancel's compute on chain).
                if kept != i {
                    self.orders[kept] = self.orders[i];
                }
                kept += 1;
            }
        }
        self.orders[kept..len].fill(RestingOrder::default());
        self.len = kept as u64;
    }
}

/// Both sides of a market's book.
#[repr(C)]
#[cfg_attr(feature = "bytemuck", derive(bytemuck::Pod, bytemuck::Zeroable))]
#[derive(Clone, Copy)]
pub struct Book {
    /// The id the next resting order gets.
    pub next_order_id: u64,
    pub bids: BookSide,
    pub asks: BookSide,
}

/// An incoming order, before it rests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakerOrder {
    pub side: OrderSide,
    pub limit_price: Price,
    pub lots: BaseLots,
    /// The taker's position address, for self-trade prevention.
    pub taker: [u8; 32],
}

impl Book {
    pub fn side(&self, side: OrderSide) -> &BookSide {
        match side {
            OrderSide::Bid => &self.bids,
            OrderSide::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: OrderSide) -> &mut BookSide {
        match side {
            OrderSide::Bid => &mut self.bids,
            OrderSide::Ask => &mut self.asks,
        }
    }

    /// The best bid and best ask prices.
    pub fn top(&self) -> (Option<Price>, Option<Price>) {
        (
            self.bids.best().map(|o| Price(o.price)),
            self.asks.best().map(|o| Price(o.price)),
        )
    }

    /// Whether an order at `price` on `side` would trade on arrival.
    pub fn would_cross(&self, side: OrderSide, price: Price) -> bool {
        self.side(side.opposite())
            .best()
            .is_some_and(|o| side.crosses(price, Price(o.price)))
    }

    /// Walks the opposite side best first while it crosses `taker.limit_price`, asking `settle`
    /// how much each maker takes; the taker's own orders in the way are cancelled, not filled,
    /// each reported to `self_traded`. `settle` may fail with its caller's own error type.
    pub fn match_order<E: From<EngineError>>(
        &mut self,
        taker: &TakerOrder,
        mut settle: impl FnMut(&RestingOrder, BaseLots) -> Result<MakerResponse, E>,
        mut self_traded: impl FnMut(&RestingOrder),
    ) -> Result<MatchOutcome, E> {
        let mut outcome = MatchOutcome::default();
        let resting_side = self.side_mut(taker.side.opposite());
        while outcome.filled < taker.lots {
            let Some(best) = resting_side.best().copied() else {
                break;
            };
            if !taker.side.crosses(taker.limit_price, Price(best.price)) {
                break;
            }
            let last = resting_side.len as usize - 1;
            if best.maker == taker.taker {
                self_traded(&best);
                resting_side.remove_at(last);
                outcome.self_trade_cancelled_orders += 1;
                outcome.self_trade_cancelled_lots.0 += best.lots;
                continue;
            }
            let offered = BaseLots((taker.lots.0 - outcome.filled.0).min(best.lots));
            match settle(&best, offered)? {
                MakerResponse::Stop => {
                    outcome.stopped = true;
                    break;
                }
                MakerResponse::Fill { lots, cancel_rest } => {
                    if lots > offered {
                        return Err(EngineError::MathOverflow.into());
                    }
                    let left = best.lots - lots.0;
                    if left == 0 || cancel_rest {
                        resting_side.remove_at(last);
                    } else {
                        resting_side.orders[last].lots = left;
                    }
                    if lots.0 > 0 {
                        outcome.filled.0 += lots.0;
                        outcome.fills += 1;
                        outcome.quote = outcome
                            .quote
                            .checked_add(Price(best.price).value_of(lots)?)?;
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Rests an order and returns its id.
    pub fn rest(
        &mut self,
        side: OrderSide,
        maker: [u8; 32],
        price: Price,
        lots: BaseLots,
        client_order_id: u64,
        reduce_only: bool,
    ) -> EngineResult<u64> {
        let order_id = self.next_order_id;
        self.side_mut(side).insert(
            side,
            RestingOrder {
                maker,
                order_id,
                client_order_id,
                price: price.0,
                lots: lots.0,
                reduce_only: reduce_only as u8,
                _padding: [0; 7],
            },
        )?;
        self.next_order_id = math::add(order_id as i128, 1)? as u64;
        Ok(order_id)
    }

    /// The resting order that an order at `price` on `side` would evict (see `BookSide::evictee`).
    pub fn evictee(&self, side: OrderSide, price: Price) -> Option<RestingOrder> {
        self.side(side).evictee(side, price).copied()
    }

    /// Rests an order like `rest`, but on a full side the worst order makes room for one with a
    /// better price (DESIGN.md §9): it is removed and returned, for its maker's open-order totals
    /// to be released. An order that would rank last on a full side is refused with `BookFull`.
    pub fn rest_evicting(
        &mut self,
        side: OrderSide,
        maker: [u8; 32],
        price: Price,
        lots: BaseLots,
        client_order_id: u64,
        reduce_only: bool,
    ) -> EngineResult<(u64, Option<RestingOrder>)> {
        let evicted = if self.side(side).is_full() {
            if self.evictee(side, price).is_none() {
                return Err(EngineError::BookFull);
            }
            Some(self.side_mut(side).remove_at(0))
        } else {
            None
        };
        let order_id = self.rest(side, maker, price, lots, client_order_id, reduce_only)?;
        Ok((order_id, evicted))
    }

    /// Removes `maker`'s order named by `order` from whichever side holds it.
    pub fn cancel(
        &mut self,
        maker: &[u8; 32],
        order: OrderRef,
    ) -> Option<(OrderSide, RestingOrder)> {
        for side in [OrderSide::Bid, OrderSide::Ask] {
            let book_side = self.side_mut(side);
            let found = book_side.orders().iter().position(|o| {
                o.maker == *maker
                    && match order {
                        OrderRef::OrderId(id) => o.order_id == id,
                        OrderRef::ClientOrderId(id) => o.client_order_id == id,
                    }
            });
            if let Some(index) = found {
                return Some((side, book_side.remove_at(index)));
            }
        }
        None
    }

    /// Removes every order of `maker`, telling `cancelled` each one, and returns the totals. A
    /// `dyn` callback, called for removed orders only: a generic one cost the walk over the kept
    /// orders about 22 CU each on SBF (50k → 72k CU for a full book, measured).
    pub fn cancel_all(
        &mut self,
        maker: &[u8; 32],
        cancelled: &mut dyn FnMut(OrderSide, &RestingOrder),
    ) -> CancelledTotals {
        let mut totals = CancelledTotals::default();
        self.bids.retain(
            |o| o.maker == *maker,
            |o| {
                totals.orders += 1;
                totals.bid_lots.0 += o.lots;
                cancelled(OrderSide::Bid, o);
            },
        );
        self.asks.retain(
            |o| o.maker == *maker,
            |o| {
                totals.orders += 1;
                totals.ask_lots.0 += o.lots;
                cancelled(OrderSide::Ask, o);
            },
        );
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::vec::Vec;

    fn empty_book() -> Box<Book> {
        Box::new(Book {
            next_order_id: 1,
            bids: BookSide {
                len: 0,
                orders: [RestingOrder::default(); BOOK_SIDE_CAPACITY],
            },
            asks: BookSide {
                len: 0,
                orders: [RestingOrder::default(); BOOK_SIDE_CAPACITY],
            },
        })
    }

    fn maker(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn fill_all(_: &RestingOrder, offered: BaseLots) -> EngineResult<MakerResponse> {
        Ok(MakerResponse::Fill {
            lots: offered,
            cancel_rest: false,
        })
    }

    #[test]
    fn a_taker_fills_best_price_first_then_earliest_at_a_price() {
        let mut book = empty_book();
        let a = book
            .rest(OrderSide::Ask, maker(1), Price(101), BaseLots(5), 0, false)
            .unwrap();
        let b = book
            .rest(OrderSide::Ask, maker(2), Price(100), BaseLots(3), 0, false)
            .unwrap();
        let c = book
            .rest(OrderSide::Ask, maker(3), Price(100), BaseLots(4), 0, false)
            .unwrap();
        book.rest(OrderSide::Ask, maker(4), Price(103), BaseLots(9), 0, false)
            .unwrap();
        let mut seen = Vec::new();
        let taker = TakerOrder {
            side: OrderSide::Bid,
            limit_price: Price(102),
            lots: BaseLots(10),
            taker: maker(9),
        };
        let outcome = book
            .match_order(
                &taker,
                |o, offered| {
                    seen.push((o.order_id, offered.0));
                    fill_all(o, offered)
                },
                |_| {},
            )
            .unwrap();
        // 3 at 100 (b, first at 100), 4 at 100 (c), then 3 of 5 at 101 (a); 103 is beyond the limit.
        assert_eq!(seen, [(b, 3), (c, 4), (a, 3)]);
        assert_eq!(outcome.filled, BaseLots(10));
        assert_eq!(outcome.quote, SignedQuote(3 * 100 + 4 * 100 + 3 * 101));
        assert_eq!(book.asks.best().map(|o| (o.order_id, o.lots)), Some((a, 2)));
        assert_eq!(book.top(), (None, Some(Price(101))));
    }

    #[test]
    fn matching_stops_at_a_maker_that_cannot_be_settled_and_cancels_self_trades() {
        let mut book = empty_book();
        book.rest(OrderSide::Bid, maker(9), Price(100), BaseLots(2), 0, false)
            .unwrap();
        book.rest(OrderSide::Bid, maker(1), Price(99), BaseLots(2), 0, false)
            .unwrap();
        book.rest(OrderSide::Bid, maker(2), Price(98), BaseLots(2), 0, false)
            .unwrap();
        let taker = TakerOrder {
            side: OrderSide::Ask,
            limit_price: Price(90),
            lots: BaseLots(10),
            taker: maker(9),
        };
        let mut self_traded = Vec::new();
        let outcome = book
            .match_order(
                &taker,
                |o, offered| -> EngineResult<_> {
                    Ok(if o.maker == maker(2) {
                        MakerResponse::Stop
                    } else {
                        MakerResponse::Fill {
                            lots: offered,
                            cancel_rest: false,
                        }
                    })
                },
                |o| self_traded.push((o.order_id, o.lots)),
            )
            .unwrap();
        assert_eq!(self_traded, [(1, 2)]);
        assert_eq!(outcome.self_trade_cancelled_orders, 1);
        assert_eq!(outcome.self_trade_cancelled_lots, BaseLots(2));
        assert_eq!(outcome.filled, BaseLots(2));
        assert!(outcome.stopped);
        assert_eq!(book.bids.orders().len(), 1);
        assert_eq!(book.bids.best().unwrap().maker, maker(2));
    }

    #[test]
    fn a_full_side_refuses_another_order_and_cancels_find_their_order() {
        let mut book = empty_book();
        for i in 0..BOOK_SIDE_CAPACITY as u64 {
            book.rest(
                OrderSide::Bid,
                maker((i % 7) as u8),
                Price(1_000 - i % 50),
                BaseLots(1),
                i,
                false,
            )
            .unwrap();
        }
        assert_eq!(
            book.rest(OrderSide::Bid, maker(1), Price(1), BaseLots(1), 0, false),
            Err(EngineError::BookFull)
        );
        // Asks are a separate side.
        assert!(book
            .rest(
                OrderSide::Ask,
                maker(1),
                Price(2_000),
                BaseLots(1),
                77,
                false
            )
            .is_ok());
        let (side, order) = book.cancel(&maker(1), OrderRef::ClientOrderId(77)).unwrap();
        assert_eq!((side, order.price), (OrderSide::Ask, 2_000));
        assert_eq!(
            book.cancel(&maker(2), OrderRef::ClientOrderId(1)),
            None,
            "order 1 is maker 1's"
        );
        let mut cancelled = 0;
        let totals = book.cancel_all(&maker(3), &mut |side, o| {
            assert_eq!((side, o.maker), (OrderSide::Bid, maker(3)));
            cancelled += 1;
        });
        assert_eq!(cancelled, 73);
        assert_eq!(totals.orders, 73);
        assert_eq!(totals.bid_lots, BaseLots(73));
        assert_eq!(book.bids.len as usize, BOOK_SIDE_CAPACITY - 73);
        assert!(book.bids.orders().iter().all(|o| o.maker != maker(3)));
    }

    #[test]
    fn a_full_side_evicts_its_worst_order_for_a_better_one() {
        // The attack of issue 13: 16 makers × 32 one-lot bids at the band's edge fill the side.
        let mut book = empty_book();
        for i in 0..BOOK_SIDE_CAPACITY as u64 {
            book.rest(
                OrderSide::Bid,
                maker((i / 32) as u8),
                Price(57_000_000),
                BaseLots(1),
                i,
                false,
            )
            .unwrap();
        }
        // At the same price the resting orders came first: refused.
        assert_eq!(book.evictee(OrderSide::Bid, Price(57_000_000)), None);
        assert_eq!(
            book.rest_evicting(
                OrderSide::Bid,
                maker(99),
                Price(57_000_000),
                BaseLots(5),
                0,
                false
            ),
            Err(EngineError::BookFull)
        );
        // One tick better: the latest order at 57 (maker 15's last, client id 511) makes room.
        let expected = book.evictee(OrderSide::Bid, Price(57_010_000)).unwrap();
        assert_eq!((expected.maker, expected.client_order_id), (maker(15), 511));
        let (id, evicted) = book
            .rest_evicting(
                OrderSide::Bid,
                maker(99),
                Price(57_010_000),
                BaseLots(5),
                0,
                false,
            )
            .unwrap();
        assert_eq!(evicted, Some(expected));
        assert_eq!(book.bids.len as usize, BOOK_SIDE_CAPACITY);
        assert_eq!(
            book.bids.best().map(|o| (o.order_id, o.lots)),
            Some((id, 5))
        );
        // The asks were never full: no eviction there, and a side with room evicts nothing.
        assert_eq!(book.evictee(OrderSide::Ask, Price(60_000_000)), None);
        assert_eq!(
            book.rest_evicting(
                OrderSide::Ask,
                maker(1),
                Price(63_000_000),
                BaseLots(1),
                0,
                false
            )
            .map(|(_, evicted)| evicted),
            Ok(None)
        );
        // Asks: a lower price is better.
        for i in 1..BOOK_SIDE_CAPACITY as u64 {
            book.rest(
                OrderSide::Ask,
                maker(2),
                Price(63_000_000 - i),
                BaseLots(1),
                0,
                false,
            )
            .unwrap();
        }
        let worst = book.asks.orders()[0];
        assert_eq!(worst.price, 63_000_000);
        assert_eq!(book.evictee(OrderSide::Ask, Price(63_000_001)), None);
        assert_eq!(book.evictee(OrderSide::Ask, Price(62_999_999)), Some(worst));
    }

    proptest! {
        #[test]
        fn a_full_side_stays_full_sorted_and_gives_up_only_its_worst_order(
            prices in proptest::collection::vec(90u64..110, BOOK_SIDE_CAPACITY),
            arrivals in proptest::collection::vec((any::<bool>(), 88u64..112), 1..40),
        ) {
            let mut book = empty_book();
            for (i, price) in prices.iter().enumerate() {
                book.rest(OrderSide::Bid, maker(1), Price(*price), BaseLots(1), i as u64, false).unwrap();
                book.rest(OrderSide::Ask, maker(1), Price(*price + 100), BaseLots(1), i as u64, false).unwrap();
            }
            for (bid, price) in arrivals {
                let (side, price) = if bid { (OrderSide::Bid, price) } else { (OrderSide::Ask, price + 100) };
                let worst = book.side(side).orders()[0];
                let before: u64 = book.side(side).orders().iter().map(|o| o.lots).sum();
                match book.rest_evicting(side, maker(2), Price(price), BaseLots(3), 0, false) {
                    Ok((_, evicted)) => {
                        // Only a strictly better price gets in, and the worst order gives way.
                        prop_assert!(price != worst.price && side.crosses(Price(price), Price(worst.price)));
                        prop_assert_eq!(evicted, Some(worst));
                        let after: u64 = book.side(side).orders().iter().map(|o| o.lots).sum();
                        prop_assert_eq!(after, before - worst.lots + 3);
                    }
                    Err(e) => {
                        prop_assert_eq!(e, EngineError::BookFull);
                        prop_assert!(price == worst.price || !side.crosses(Price(price), Price(worst.price)));
                    }
                }
                prop_assert_eq!(book.side(side).len as usize, BOOK_SIDE_CAPACITY);
                prop_assert!(sorted(side, book.side(side)));
            }
        }
    }

    #[test]
    fn the_band_is_inclusive_and_symmetric() {
        let band = crate::RatePpm(50_000); // 5%
        assert!(within_band(Price(105), Price(100), band));
        assert!(within_band(Price(95), Price(100), band));
        assert!(!within_band(Price(106), Price(100), band));
        assert!(!within_band(Price(94), Price(100), band));
    }

    #[derive(Clone, Debug)]
    enum Action {
        Rest {
            bid: bool,
            maker: u8,
            price: u64,
            lots: u64,
        },
        Take {
            bid: bool,
            taker: u8,
            price: u64,
            lots: u64,
        },
        CancelAll {
            maker: u8,
        },
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            (any::<bool>(), 0u8..5, 90u64..110, 1u64..20).prop_map(|(bid, maker, price, lots)| {
                Action::Rest {
                    bid,
                    maker,
                    price,
                    lots,
                }
            }),
            (any::<bool>(), 0u8..5, 90u64..110, 1u64..40).prop_map(|(bid, taker, price, lots)| {
                Action::Take {
                    bid,
                    taker,
                    price,
                    lots,
                }
            }),
            (0u8..5).prop_map(|maker| Action::CancelAll { maker }),
        ]
    }

    fn sorted(side: OrderSide, book_side: &BookSide) -> bool {
        book_side
            .orders()
            .windows(2)
            .all(|w| BookSide::outranks(side, &w[1], &w[0]))
    }

    proptest! {
        #[test]
        fn the_book_stays_in_priority_order_and_conserves_lots(actions in proptest::collection::vec(action(), 1..80)) {
            let mut book = empty_book();
            let mut resting: i128 = 0;
            for a in actions {
                match a {
                    Action::Rest { bid, maker: m, price, lots } => {
                        let side = if bid { OrderSide::Bid } else { OrderSide::Ask };
                        if !book.would_cross(side, Price(price)) {
                            book.rest(side, maker(m), Price(price), BaseLots(lots), 0, false).unwrap();
                            resting += lots as i128;
                        }
                    }
                    Action::Take { bid, taker, price, lots } => {
                        let side = if bid { OrderSide::Bid } else { OrderSide::Ask };
                        let mut last: Option<RestingOrder> = None;
                        let outcome = book.match_order(
                            &TakerOrder { side, limit_price: Price(price), lots: BaseLots(lots), taker: maker(taker) },
                            |o, offered| -> EngineResult<_> {
                                // Strict priority: each maker reached ranks below the previous one.
                                if let Some(prev) = last {
                                    assert!(prev.order_id == o.order_id || BookSide::outranks(side.opposite(), &prev, o));
                                }
                                assert!(side.crosses(Price(price), Price(o.price)));
                                last = Some(*o);
                                Ok(MakerResponse::Fill { lots: offered, cancel_rest: false })
                            },
                            |_| {},
                        ).unwrap();
                        prop_assert!(outcome.filled.0 <= lots);
                        resting -= outcome.filled.0 as i128 + outcome.self_trade_cancelled_lots.0 as i128;
                    }
                    Action::CancelAll { maker: m } => {
                        let t = book.cancel_all(&maker(m), &mut |_, _| {});
                        resting -= (t.bid_lots.0 + t.ask_lots.0) as i128;
                    }
                }
                prop_assert!(sorted(OrderSide::Bid, &book.bids) && sorted(OrderSide::Ask, &book.asks));
                let total: u64 = book.bids.orders().iter().chain(book.asks.orders()).map(|o| o.lots).sum();
                prop_assert_eq!(total as i128, resting);
                // Crossing never survives a match: the book is never locked or crossed.
                if let (Some(b), Some(a)) = book.top() { prop_assert!(b < a); }
            }
        }
    }
}
