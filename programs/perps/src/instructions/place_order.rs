use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    book::{within_band, MakerResponse, TakerOrder},
    fees, BaseLots, MarginTiers, OracleUse, Price, RatePpm, RestingOrder, SignedLots, SignedQuote,
};

use crate::{
    error::{CallbackError, EngineResultExt, PerpsError},
    events::{Emitter, EventHeader, Fill, OrderCancelled, OrderPlaced},
    oracle::{self, BreakerEvents},
    state::{
        CancelReason, Exchange, Market, MarketStatus, OrderBook, OrderSide, OrderType, Position,
        PositionAccounts, RemainingPositions, EXCHANGE_SEED, MAX_OPEN_ORDERS_PER_POSITION,
    },
    vault::{self, Payout},
};

/// An order: side, limit price, lots, type, reduce-only and the client's id.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceOrderArgs {
    /// Bid or ask.
    pub side: OrderSide,
    /// Quote atoms per lot, a multiple of the tick size.
    pub price: u64,
    /// Lots (base lots).
    pub lots: u64,
    /// Limit, post-only or immediate-or-cancel.
    pub order_type: OrderType,
    /// The order may only shrink the position; its size is cut to the position's.
    pub reduce_only: bool,
    /// The id the client gave the order.
    pub client_order_id: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct PlaceOrder<'info> {
    /// The position's owner.
    pub owner: Signer<'info>,
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    /// The exchange.
    pub exchange: Box<Account<'info, Exchange>>,
    /// The market.
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    /// The order book account.
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    /// The Position account.
    pub position: AccountLoader<'info, Position>,
    /// CHECK: read through `oracle::read_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    /// The market's collateral vault.
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    /// The market's insurance vault.
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    /// The token account receiving the treasury's share of fees.
    #[account(mut, address = exchange.treasury @ PerpsError::InvalidTreasury)]
    pub treasury: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining_accounts: the makers' Position accounts (writable), in book order.
}

/// Places an order: it matches against the book in price-time priority, settling every maker
/// (a remaining account) and the taker at once, then rests or drops the remainder. The position
/// must meet initial margin afterwards, counting resting orders at their worst case, unless the
/// order only reduced its risk.
pub fn handler<'info>(ctx: Context<'info, PlaceOrder<'info>>, args: PlaceOrderArgs) -> Result<()> {
    let accounts = &ctx.accounts;
    let market_key = accounts.market.key();
    let mut market = accounts.market.load_mut()?;
    let mut book = accounts.order_book.load_mut()?;
    let mut taker = accounts.position.load_mut()?;
    let mut breaker = BreakerEvents::default();
    let outcome = place_order_action(
        PlaceOrderAccounts {
            market: &mut market,
            market_key,
            book: &mut book,
            taker: &mut taker,
            taker_key: accounts.position.key(),
        },
        &mut RemainingPositions(ctx.remaining_accounts),
        &args,
        Clock::get()?.unix_timestamp,
        |market| {
            oracle::observe_price(
                market,
                &market_key,
                &accounts.oracle,
                OracleUse::Trading,
                &mut breaker,
            )
        },
    )?;
    let mut emitter = Emitter::new(&accounts.event_authority)?;
    emitter.emit_breaker(&mut market, breaker)?;
    for event in outcome.events {
        match event {
            OrderEvent::Fill(fill) => emitter.emit_market(&mut market, fill)?,
            OrderEvent::Cancelled(cancelled) => emitter.emit_market(&mut market, cancelled)?,
        }
    }
    emitter.emit_market(&mut market, outcome.placed)?;
    emitter.flush()?;
    vault::release_then_pay_out(
        market,
        (taker, book),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.insurance_vault,
                amount: outcome.fees_to_insurance,
            },
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.treasury,
                amount: outcome.fees_to_treasury,
            },
        ],
    )
}

/// The loaded accounts an order works on (the makers come apart, by address).
pub struct PlaceOrderAccounts<'a> {
    /// The market.
    pub market: &'a mut Market,
    pub market_key: Pubkey,
    pub book: &'a mut OrderBook,
    /// The taker's Position account.
    pub taker: &'a mut Position,
    pub taker_key: Pubkey,
}

/// An event of one order's matching, in the order emitted.
pub enum OrderEvent {
    Fill(Fill),
    Cancelled(OrderCancelled),
}

/// What an order did: its events, and the net fees that leave the collateral vault.
pub struct OrderOutcome {
    /// The events, in the order they happened.
    pub events: Vec<OrderEvent>,
    pub placed: OrderPlaced,
    pub fees_to_insurance: u64,
    pub fees_to_treasury: u64,
}

/// Validates `args`, observes the oracle, matches the order against the book (settling each
/// maker reached and the taker), rests what is left unless immediate-or-cancel, and checks the
/// taker's margin, the ADL and open-interest rules afterwards; the book's funding premium is
/// sampled at `now` as the order leaves it (DESIGN.md §10).
pub fn place_order_action(
    accounts: PlaceOrderAccounts,
    makers: &mut impl PositionAccounts,
    args: &PlaceOrderArgs,
    now: i64,
    observe_price: impl FnOnce(&mut Market) -> Result<Price>,
) -> Result<OrderOutcome> {
    let PlaceOrderAccounts {
        market,
        market_key,
        book,
        taker,
        taker_key,
    } = accounts;
    require!(args.lots > 0, PerpsError::ZeroAmount);
    let side = perps_engine::OrderSide::from(args.side);
    let price = Price(args.price);
    market.require_open()?;
    let params = market.params;
    require!(
        args.lots >= params.min_order_lots,
        PerpsError::OrderTooSmall
    );
    require!(
        args.price > 0 && args.price % params.tick_size == 0,
        PerpsError::InvalidPrice
    );
    let oracle_price = observe_price(market)?;
    // Observing the price may have tripped (or cleared) the circuit breaker.
    let reduce_only = args.reduce_only || market.status()? == MarketStatus::ReduceOnly;
    require!(
        within_band(price, oracle_price, RatePpm(params.price_band_ppm)),
        PerpsError::PriceOutsideBand
    );
    let open_interest_before = market.open_interest_long;
    taker.settle_funding(market)?;
    let before = taker.state();
    let lots = if reduce_only {
        let lots = args.lots.min(before.reducible_lots(side).0);
        require!(lots > 0, PerpsError::ReduceOnlyWouldIncrease);
        lots
    } else {
        args.lots
    };
    if args.order_type == OrderType::PostOnly {
        require!(
            !book.book.would_cross(side, price),
            PerpsError::PostOnlyWouldCross
        );
    }

    let tiers = params.margin_tiers()?;
    let rules = FillRules {
        market_key: &market_key,
        taker_side: side,
        oracle: oracle_price,
        tiers: &tiers,
        band: RatePpm(params.price_band_ppm),
        reduce_only_market: market.status()? == MarketStatus::ReduceOnly || market.is_adl_pending(),
    };
    let taker_order = TakerOrder {
        side,
        limit_price: price,
        lots: BaseLots(lots),
        taker: taker_key.to_bytes(),
    };
    let mut fees_collected = SignedQuote::ZERO;
    // Fills and cancels in the order they happen, from both callbacks of the match.
    let events = core::cell::RefCell::new(Vec::new());
    let outcome = book
        .book
        .match_order(
            &taker_order,
            |order, offered| -> std::result::Result<_, CallbackError> {
                let maker_key = Pubkey::new_from_array(order.maker);
                let Some(fill) = makers.with_position(&maker_key, |maker| {
                    settle_fill(market, taker, maker, order, offered, &rules)
                })?
                else {
                    return Ok(MakerResponse::Stop);
                };
                fees_collected = fees_collected
                    .checked_add(fill.maker_fee)
                    .and_then(|f| f.checked_add(fill.taker_fee))?;
                if fill.lots.0 > 0 {
                    events.borrow_mut().push(OrderEvent::Fill(Fill {
                        header: EventHeader::of(market_key),
                        maker: maker_key,
                        taker: taker_key,
                        maker_order_id: order.order_id,
                        taker_side: args.side,
                        price: order.price,
                        lots: fill.lots.0,
                        maker_fee: i64::try_from(fill.maker_fee.0)
                            .map_err(|_| perps_engine::EngineError::MathOverflow)?,
                        taker_fee: i64::try_from(fill.taker_fee.0)
                            .map_err(|_| perps_engine::EngineError::MathOverflow)?,
                    }));
                }
                if let Some(reason) = fill.cancelled {
                    events
                        .borrow_mut()
                        .push(OrderEvent::Cancelled(OrderCancelled {
                            header: EventHeader::of(market_key),
                            position: maker_key,
                            order_id: order.order_id,
                            side: side.opposite().into(),
                            lots: order.lots - fill.lots.0,
                            reason,
                        }));
                }
                Ok(MakerResponse::Fill {
                    lots: fill.lots,
                    cancel_rest: fill.cancelled.is_some(),
                })
            },
            |order| {
                events
                    .borrow_mut()
                    .push(OrderEvent::Cancelled(OrderCancelled {
                        header: EventHeader::of(market_key),
                        position: taker_key,
                        order_id: order.order_id,
                        side: side.opposite().into(),
                        lots: order.lots,
                        reason: CancelReason::SelfTrade,
                    }))
            },
        )
        .map_err(|e| e.0)?;
    let mut events = events.into_inner();
    require_eq!(
        market.open_interest_long,
        market.open_interest_short,
        PerpsError::OpenInterestImbalance
    );

    // The taker's own orders that stood in the way were cancelled.
    if outcome.self_trade_cancelled_orders > 0 {
        taker.remove_open_orders(
            side.opposite(),
            outcome.self_trade_cancelled_lots.0,
            outcome.self_trade_cancelled_orders,
        )?;
    }

    let remaining = lots - outcome.filled.0;
    let mut rested_id = 0;
    if remaining > 0 && args.order_type != OrderType::ImmediateOrCancel {
        require!(
            !(outcome.stopped && book.book.would_cross(side, price)),
            PerpsError::MissingMakerAccount
        );
        require!(
            taker.open_order_count < MAX_OPEN_ORDERS_PER_POSITION,
            PerpsError::TooManyOrders
        );
        // A full side makes room for a better price: its worst order goes, and its maker's
        // open-order totals with it (DESIGN.md §9).
        if let Some(evicted) = book.book.evictee(side, price) {
            release_evicted(&evicted, side, taker, &taker_key, makers, &market_key)?;
            events.push(OrderEvent::Cancelled(OrderCancelled {
                header: EventHeader::of(market_key),
                position: Pubkey::new_from_array(evicted.maker),
                order_id: evicted.order_id,
                side: args.side,
                lots: evicted.lots,
                reason: CancelReason::Evicted,
            }));
        }
        (rested_id, _) = book
            .book
            .rest_evicting(
                side,
                taker_key.to_bytes(),
                price,
                BaseLots(remaining),
                args.client_order_id,
                reduce_only,
            )
            .map_engine_err()?;
        taker.add_open_orders(side, remaining, 1)?;
    }

    let after = taker.state();
    let factor = market.initial_margin_factor(oracle_price)?;
    let health = after
        .health(oracle_price, &tiers, factor)
        .map_engine_err()?;
    let reduced = before.is_risk_reduced_by(&after).map_engine_err()?;
    require!(!market.is_adl_pending() || reduced, PerpsError::AdlPending);
    // An order that only reduced risk may end below initial margin, but not by giving margin
    // away (its shortfall under initial margin may not grow), and never below maintenance
    // unless it was already there, and then no deeper (DESIGN.md §12.4).
    require!(
        health.meets_initial()
            || (reduced
                && health.equity >= SignedQuote::ZERO
                && before
                    .reduction_keeps_margin(&after, oracle_price, &tiers, factor)
                    .map_engine_err()?),
        PerpsError::InsufficientMargin
    );
    require!(
        market.open_interest_long <= params.max_open_interest_lots
            || market.open_interest_long <= open_interest_before,
        PerpsError::OpenInterestCapExceeded
    );

    market.sample_funding_premium(&book.book, oracle_price, now)?;

    let split =
        fees::split_fees(fees_collected, params.fee_insurance_share_bps).map_engine_err()?;
    let to_u64 = |fee: SignedQuote| u64::try_from(fee.0).map_err(|_| PerpsError::MathOverflow);
    Ok(OrderOutcome {
        events,
        placed: OrderPlaced {
            header: EventHeader::of(market_key),
            position: taker_key,
            order_id: rested_id,
            client_order_id: args.client_order_id,
            side: args.side,
            price: args.price,
            lots,
            filled: outcome.filled.0,
            rested: if rested_id > 0 { remaining } else { 0 },
        },
        fees_to_insurance: to_u64(split.insurance)?,
        fees_to_treasury: to_u64(split.treasury)?,
    })
}

/// Forgets an evicted order in its maker's open-order totals: the taker's own, or a position
/// supplied among the remaining accounts (`MissingEvictedAccount` otherwise).
fn release_evicted(
    order: &RestingOrder,
    side: perps_engine::OrderSide,
    taker: &mut Position,
    taker_key: &Pubkey,
    makers: &mut impl PositionAccounts,
    market_key: &Pubkey,
) -> Result<()> {
    let maker_key = Pubkey::new_from_array(order.maker);
    if maker_key == *taker_key {
        return taker.remove_open_orders(side, order.lots, 1);
    }
    makers
        .with_position(&maker_key, |maker| {
            require_keys_eq!(maker.market, *market_key, PerpsError::WrongMarket);
            maker.remove_open_orders(side, order.lots, 1)
        })?
        .ok_or_else(|| error!(PerpsError::MissingEvictedAccount))
}

/// What every fill of one taker order is judged against.
struct FillRules<'a> {
    market_key: &'a Pubkey,
    taker_side: perps_engine::OrderSide,
    oracle: Price,
    tiers: &'a MarginTiers,
    band: RatePpm,
    /// The market is reduce-only or in ADL: every resting order may only reduce its maker.
    reduce_only_market: bool,
}

/// How a maker's resting order is settled.
struct MakerFill {
    lots: BaseLots,
    /// Why the rest of the order was cancelled instead of filled, if it was.
    cancelled: Option<CancelReason>,
    maker_fee: SignedQuote,
    taker_fee: SignedQuote,
}

/// Settles one fill between a resting order's maker and the taker: funding, size and cost basis,
/// realized PnL, fees and the maker's open-order totals. A maker order fills only what its
/// maker may take: a reduce-only order (or any order in a reduce-only market) only what shrinks
/// the position; and no order fills that is priced outside the band around the current oracle,
/// or that would leave its maker with negative equity or below maintenance margin (unless it
/// was already below and the fill only reduces it without deepening the shortfall): a stale
/// order. What cannot fill is cancelled.
fn settle_fill(
    market: &mut Market,
    taker: &mut Position,
    maker: &mut Position,
    order: &RestingOrder,
    offered: BaseLots,
    rules: &FillRules,
) -> Result<MakerFill> {
    require_keys_eq!(maker.market, *rules.market_key, PerpsError::WrongMarket);
    maker.settle_funding(market)?;
    let maker_side = rules.taker_side.opposite();
    let price = Price(order.price);
    let notional_of = |lots: BaseLots| price.value_of(lots).map_engine_err();
    let maker_fee_of = |lots: BaseLots| -> Result<SignedQuote> {
        Ok(fees::fee(notional_of(lots)?, market.params.maker_fee_bps as i32).map_engine_err()?)
    };

    let before = maker.state();
    let mut lots = offered;
    let mut reason = CancelReason::ReduceOnly;
    if order.reduce_only == 1 || rules.reduce_only_market {
        lots = BaseLots(lots.0.min(before.reducible_lots(maker_side).0));
    }
    if !within_band(price, rules.oracle, rules.band) {
        lots = BaseLots(0);
        reason = CancelReason::Stale;
    } else if lots.0 > 0 {
        let mut after = before;
        after
            .apply_fill(SignedLots(maker_side.sign() * lots.0 as i64), price)
            .map_engine_err()?;
        after.collateral = after
            .collateral
            .checked_sub(maker_fee_of(lots)?)
            .map_engine_err()?;
        let equity = after.equity(rules.oracle).map_engine_err()?;
        if equity < SignedQuote::ZERO
            || !before
                .trade_keeps_maintenance(&after, rules.oracle, rules.tiers)
                .map_engine_err()?
        {
            lots = BaseLots(0);
            reason = CancelReason::Stale;
        }
    }
    let cancelled = (lots < offered).then_some(reason);
    let order_done = cancelled.is_some() || lots.0 == order.lots;
    let removed_lots = if cancelled.is_some() {
        order.lots
    } else {
        lots.0
    };
    maker.remove_open_orders(maker_side, removed_lots, order_done as u32)?;
    if lots.0 == 0 {
        return Ok(MakerFill {
            lots,
            cancelled,
            maker_fee: SignedQuote::ZERO,
            taker_fee: SignedQuote::ZERO,
        });
    }
    let maker_fee = maker_fee_of(lots)?;
    let taker_fee =
        fees::fee(notional_of(lots)?, market.params.taker_fee_bps as i32).map_engine_err()?;
    maker.apply_fill(market, SignedLots(maker_side.sign() * lots.0 as i64), price)?;
    taker.apply_fill(
        market,
        SignedLots(rules.taker_side.sign() * lots.0 as i64),
        price,
    )?;
    maker.charge_fee(maker_fee)?;
    taker.charge_fee(taker_fee)?;
    Ok(MakerFill {
        lots,
        cancelled,
        maker_fee,
        taker_fee,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Positions, USDC};

    const ORACLE: u64 = 60 * USDC;

    /// A market at 60 USDC a lot, its book, a taker with 100 USDC and two makers with 100 USDC
    /// each (A, then B).
    struct Fixture {
        market: Box<Market>,
        market_key: Pubkey,
        book: Box<OrderBook>,
        taker: Position,
        taker_key: Pubkey,
        makers: Positions,
    }

    fn fixture() -> Fixture {
        let market_key = Pubkey::new_unique();
        let maker = || {
            (
                Pubkey::new_unique(),
                testing::position(market_key, 100 * USDC as i64, 0, 0),
            )
        };
        Fixture {
            market: testing::market(),
            market_key,
            book: testing::order_book(market_key),
            taker: testing::position(market_key, 100 * USDC as i64, 0, 0),
            taker_key: Pubkey::new_unique(),
            makers: Positions(vec![maker(), maker()]),
        }
    }

    fn order(side: OrderSide, price: u64, lots: u64, order_type: OrderType) -> PlaceOrderArgs {
        PlaceOrderArgs {
            side,
            price,
            lots,
            order_type,
            reduce_only: false,
            client_order_id: 9,
        }
    }

    impl Fixture {
        /// Maker `i` rests `lots` at `price` on `side`, as a post-only order would leave it.
        fn rest(&mut self, i: usize, side: perps_engine::OrderSide, price: u64, lots: u64) {
            let (key, position) = &mut self.makers.0[i];
            self.book
                .book
                .rest(side, key.to_bytes(), Price(price), BaseLots(lots), 1, false)
                .unwrap();
            position.add_open_orders(side, lots, 1).unwrap();
        }

        fn place(&mut self, args: PlaceOrderArgs, oracle: u64) -> Result<OrderOutcome> {
            place_order_action(
                PlaceOrderAccounts {
                    market: &mut self.market,
                    market_key: self.market_key,
                    book: &mut self.book,
                    taker: &mut self.taker,
                    taker_key: self.taker_key,
                },
                &mut self.makers,
                &args,
                0,
                |_| Ok(Price(oracle)),
            )
        }

        fn maker(&self, i: usize) -> &Position {
            &self.makers.0[i].1
        }
    }

    fn fills(outcome: &OrderOutcome) -> Vec<(u64, u64, i64, i64)> {
        outcome
            .events
            .iter()
            .filter_map(|event| match event {
                OrderEvent::Fill(f) => Some((f.price, f.lots, f.maker_fee, f.taker_fee)),
                OrderEvent::Cancelled(_) => None,
            })
            .collect()
    }

    #[test]
    fn worked_limit_bid_fills_in_price_time_order_rests_the_rest_and_splits_the_fees() {
        use perps_engine::OrderSide::Ask;
        let mut f = fixture();
        f.rest(0, Ask, 60_000_000, 3);
        f.rest(1, Ask, 60_010_000, 2);
        let outcome = f
            .place(
                order(OrderSide::Bid, 60_010_000, 6, OrderType::Limit),
                ORACLE,
            )
            .unwrap();
        // Taker 5 bps rounded up, maker rebate 1 bp rounded down in magnitude.
        assert_eq!(
            fills(&outcome),
            vec![
                (60_000_000, 3, -18_000, 90_000),
                (60_010_000, 2, -12_002, 60_010)
            ]
        );
        assert_eq!(f.taker.base_lots, 5);
        assert_eq!(f.taker.cost_basis, 3 * 60_000_000 + 2 * 60_010_000);
        assert_eq!((f.maker(0).base_lots, f.maker(1).base_lots), (-3, -2));
        assert_eq!(f.maker(1).collateral, 100 * USDC as i64 + 12_002);
        // One lot rests as a bid.
        assert_eq!((outcome.placed.filled, outcome.placed.rested), (5, 1));
        assert_eq!((f.taker.open_bid_lots, f.taker.open_order_count), (1, 1));
        assert_eq!(
            (f.maker(0).open_order_count, f.maker(0).open_ask_lots),
            (0, 0)
        );
        // Net 120,008 atoms: half to insurance, half (rounded down) to the treasury.
        assert_eq!(
            (outcome.fees_to_insurance, outcome.fees_to_treasury),
            (60_004, 60_004)
        );
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (5, 5)
        );
    }

    #[test]
    fn a_missing_maker_stops_matching_an_ioc_keeps_its_fills_and_a_crossing_limit_fails() {
        use perps_engine::OrderSide::Ask;
        let mut f = fixture();
        f.rest(0, Ask, 60_000_000, 3);
        f.rest(1, Ask, 60_010_000, 2);
        f.makers.0.truncate(1);
        let limit = order(OrderSide::Bid, 60_010_000, 5, OrderType::Limit);
        assert_eq!(
            f.place(limit, ORACLE).err().unwrap(),
            PerpsError::MissingMakerAccount.into()
        );
        let mut f = fixture();
        f.rest(0, Ask, 60_000_000, 3);
        f.rest(1, Ask, 60_010_000, 2);
        f.makers.0.truncate(1);
        let ioc = order(OrderSide::Bid, 60_010_000, 5, OrderType::ImmediateOrCancel);
        let outcome = f.place(ioc, ORACLE).unwrap();
        assert_eq!((outcome.placed.filled, outcome.placed.rested), (3, 0));
        assert_eq!(f.taker.base_lots, 3);
    }

    #[test]
    fn the_takers_own_order_in_the_way_is_cancelled_not_filled() {
        use perps_engine::OrderSide::Ask;
        let mut f = fixture();
        f.book
            .book
            .rest(
                Ask,
                f.taker_key.to_bytes(),
                Price(ORACLE),
                BaseLots(1),
                1,
                false,
            )
            .unwrap();
        f.taker.add_open_orders(Ask, 1, 1).unwrap();
        f.rest(0, Ask, ORACLE, 3);
        let outcome = f
            .place(
                order(OrderSide::Bid, ORACLE, 2, OrderType::ImmediateOrCancel),
                ORACLE,
            )
            .unwrap();
        assert_eq!(fills(&outcome).len(), 1);
        assert_eq!(
            (
                f.taker.base_lots,
                f.taker.open_ask_lots,
                f.taker.open_order_count
            ),
            (2, 0, 0)
        );
        assert!(outcome.events.iter().any(|event| matches!(
            event,
            OrderEvent::Cancelled(c) if c.reason == CancelReason::SelfTrade && c.lots == 1
        )));
    }

    #[test]
    fn a_resting_order_outside_the_band_of_the_new_oracle_is_cancelled_as_stale() {
        use perps_engine::OrderSide::Ask;
        let mut f = fixture();
        f.rest(0, Ask, ORACLE, 1);
        // The oracle rose to 66: the band is 62.70 to 69.30 and the ask at 60 lies below it.
        let outcome = f
            .place(
                order(OrderSide::Bid, 63_000_000, 1, OrderType::ImmediateOrCancel),
                66 * USDC,
            )
            .unwrap();
        assert_eq!(outcome.placed.filled, 0);
        assert!(matches!(
            &outcome.events[..],
            [OrderEvent::Cancelled(c)] if c.reason == CancelReason::Stale && c.lots == 1
        ));
        assert_eq!((f.maker(0).base_lots, f.maker(0).open_order_count), (0, 0));
    }

    #[test]
    fn reduce_only_is_cut_to_the_position_and_never_flips_it() {
        use perps_engine::OrderSide::Bid;
        let mut f = fixture();
        f.taker = testing::position(f.market_key, 100 * USDC as i64, 2, ORACLE as i64);
        f.market.open_interest_long = 2;
        f.market.open_interest_short = 2;
        f.rest(0, Bid, ORACLE, 5);
        let mut sell = order(OrderSide::Ask, ORACLE, 5, OrderType::ImmediateOrCancel);
        sell.reduce_only = true;
        let outcome = f.place(sell, ORACLE).unwrap();
        assert_eq!((outcome.placed.lots, f.taker.base_lots), (2, 0));
        assert_eq!(
            f.place(sell, ORACLE).err().unwrap(),
            PerpsError::ReduceOnlyWouldIncrease.into()
        );
    }

    #[test]
    fn refuses_each_bad_order_with_its_own_error() {
        use perps_engine::OrderSide::Ask;
        let bid = |price, lots, order_type| order(OrderSide::Bid, price, lots, order_type);
        let cases = [
            (bid(ORACLE, 0, OrderType::Limit), PerpsError::ZeroAmount),
            (
                bid(ORACLE + 1, 1, OrderType::Limit),
                PerpsError::InvalidPrice,
            ),
            (
                bid(63_010_000, 1, OrderType::Limit),
                PerpsError::PriceOutsideBand,
            ),
            (
                bid(ORACLE, 1, OrderType::PostOnly),
                PerpsError::PostOnlyWouldCross,
            ),
            // 100 USDC covers 1% initial margin on at most 10,000 USDC: 167 lots at 60.
            (
                bid(59_000_000, 170, OrderType::Limit),
                PerpsError::InsufficientMargin,
            ),
        ];
        for (args, error) in cases {
            let mut f = fixture();
            f.rest(0, Ask, ORACLE, 1);
            assert_eq!(f.place(args, ORACLE).err().unwrap(), error.into());
        }
        let mut f = fixture();
        f.market.status = MarketStatus::Paused as u8;
        assert_eq!(
            f.place(bid(ORACLE, 1, OrderType::Limit), ORACLE)
                .err()
                .unwrap(),
            PerpsError::MarketPaused.into()
        );
        let mut f = fixture();
        f.market.adl_book.base_lots = 5;
        assert_eq!(
            f.place(bid(59_000_000, 1, OrderType::Limit), ORACLE)
                .err()
                .unwrap(),
            PerpsError::AdlPending.into()
        );
        let mut f = fixture();
        f.market.params.max_open_interest_lots = 2;
        f.rest(0, Ask, ORACLE, 3);
        assert_eq!(
            f.place(bid(ORACLE, 3, OrderType::Limit), ORACLE)
                .err()
                .unwrap(),
            PerpsError::OpenInterestCapExceeded.into()
        );
    }

    #[test]
    fn a_full_side_accepts_a_better_order_by_evicting_its_worst_and_releasing_its_makers_totals() {
        use perps_engine::OrderSide::Bid;
        let mut f = fixture();
        // Issue 13: 16 makers × 32 one-lot bids at 57.00, the lower edge of the 5% band around 60.
        f.makers = Positions(
            (0..16)
                .map(|_| {
                    let position = testing::position(f.market_key, 25 * USDC as i64, 0, 0);
                    (Pubkey::new_unique(), position)
                })
                .collect(),
        );
        for i in 0..16 {
            for _ in 0..32 {
                f.rest(i, Bid, 57_000_000, 1);
            }
        }
        let bid = |price| order(OrderSide::Bid, price, 2, OrderType::Limit);
        // At 57.00 the resting bids came first: the side stays full for that price.
        assert_eq!(
            f.place(bid(57_000_000), ORACLE).err().unwrap(),
            PerpsError::BookFull.into()
        );
        // At 57.01 the latest bid at 57.00 (maker 15's 32nd) goes, and its maker's totals with it.
        let evicted_maker = f.makers.0[15].0;
        let outcome = f.place(bid(57_010_000), ORACLE).unwrap();
        assert_eq!(outcome.placed.rested, 2);
        assert!(matches!(
            &outcome.events[..],
            [OrderEvent::Cancelled(c)]
                if c.reason == CancelReason::Evicted && c.position == evicted_maker && c.lots == 1
        ));
        assert_eq!(
            (f.maker(15).open_order_count, f.maker(15).open_bid_lots),
            (31, 31)
        );
        assert_eq!((f.taker.open_order_count, f.taker.open_bid_lots), (1, 2));
        let bids = f.book.book.side(Bid);
        assert_eq!(bids.orders().len(), perps_engine::BOOK_SIDE_CAPACITY);
        assert_eq!(bids.best().unwrap().maker, f.taker_key.to_bytes());
        // Its maker's account is needed: without it the order is refused (the transaction fails).
        f.makers.0.truncate(15);
        assert_eq!(
            f.place(bid(57_020_000), ORACLE).err().unwrap(),
            PerpsError::MissingEvictedAccount.into()
        );
    }

    #[test]
    fn a_reduction_into_a_siblings_bid_may_not_push_the_position_under_maintenance() {
        use perps_engine::OrderSide::Bid;
        // 100 lots long from 60 with 60 USDC: equity 60 over MM 30. A sibling bids 20 lots at
        // 57.30, inside the 5% band; selling into it would leave equity 6 under MM 24, ready
        // for a third account to liquidate (DESIGN.md §12.4). Refused.
        let mut f = fixture();
        f.taker = testing::position(f.market_key, 60 * USDC as i64, 100, ORACLE as i64);
        f.market.open_interest_long = 100;
        f.market.open_interest_short = 100;
        f.rest(0, Bid, 57_300_000, 20);
        let mut sell = order(OrderSide::Ask, 57_300_000, 20, OrderType::ImmediateOrCancel);
        sell.reduce_only = true;
        assert_eq!(
            f.place(sell, ORACLE).err().unwrap(),
            PerpsError::InsufficientMargin.into()
        );
        // At the oracle the same reduction is fine.
        let mut f = fixture();
        f.taker = testing::position(f.market_key, 60 * USDC as i64, 100, ORACLE as i64);
        f.market.open_interest_long = 100;
        f.market.open_interest_short = 100;
        f.rest(0, Bid, ORACLE, 20);
        sell.price = ORACLE;
        assert_eq!(f.place(sell, ORACLE).unwrap().placed.filled, 20);
    }
}
