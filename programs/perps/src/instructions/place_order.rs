use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    book::{within_band, MakerResponse, TakerOrder},
    fees, BaseLots, MarginTiers, OracleUse, OrderSide, Price, RatePpm, RestingOrder, SignedLots,
    SignedQuote,
};

use crate::{
    error::{CallbackError, PerpsError},
    events::{Fill, OrderCancelled, OrderPlaced},
    oracle,
    state::{Exchange, Market, MarketStatus, OrderBook, Position, EXCHANGE_SEED},
    vault,
};

/// Which way an order trades.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

impl From<Side> for OrderSide {
    fn from(side: Side) -> Self {
        match side {
            Side::Bid => OrderSide::Bid,
            Side::Ask => OrderSide::Ask,
        }
    }
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Matches what crosses, rests the remainder.
    Limit,
    /// Rests only; refused if it would cross.
    PostOnly,
    /// Matches what crosses, drops the remainder.
    ImmediateOrCancel,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceOrderArgs {
    pub side: Side,
    /// Quote atoms per lot, a multiple of the tick size.
    pub price: u64,
    pub lots: u64,
    pub order_type: OrderType,
    /// The order may only shrink the position; its size is cut to the position's.
    pub reduce_only: bool,
    pub client_order_id: u64,
}

/// Why a resting order left the book without filling, in `OrderCancelled` events.
pub const CANCEL_BY_OWNER: u8 = 0;
pub const CANCEL_SELF_TRADE: u8 = 1;
pub const CANCEL_REDUCE_ONLY: u8 = 2;
pub const CANCEL_BY_LIQUIDATION: u8 = 3;
pub const CANCEL_BY_ADL: u8 = 5;
/// Outside the band around the current oracle, or its maker could no longer carry the fill.
pub const CANCEL_STALE: u8 = 4;

/// Resting orders one position may have: keeps a single account from filling a book side.
pub const MAX_OPEN_ORDERS_PER_POSITION: u32 = 32;

#[derive(Accounts)]
pub struct PlaceOrder<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(
        mut,
        has_one = owner @ PerpsError::Unauthorized,
        has_one = market @ PerpsError::WrongMarket,
    )]
    pub position: AccountLoader<'info, Position>,
    /// CHECK: read through `oracle::read_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
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
    require!(args.lots > 0, PerpsError::ZeroAmount);
    let market_key = ctx.accounts.market.key();
    let taker_key = ctx.accounts.position.key();
    let side = OrderSide::from(args.side);
    let price = Price(args.price);
    let mut market = ctx.accounts.market.load_mut()?;
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
    let oracle_price = oracle::observe_price(
        &mut market,
        &market_key,
        &ctx.accounts.oracle,
        OracleUse::Trading,
    )?;
    // Observing the price may have tripped (or cleared) the circuit breaker.
    let reduce_only = args.reduce_only || market.status()? == MarketStatus::ReduceOnly;
    require!(
        within_band(price, oracle_price, RatePpm(params.price_band_ppm)),
        PerpsError::PriceOutsideBand
    );
    let open_interest_before = market.open_interest_long;

    let mut order_book = ctx.accounts.order_book.load_mut()?;
    let mut taker = ctx.accounts.position.load_mut()?;
    taker.settle_funding(&mut market)?;
    require!(
        !(market.is_adl_pending() && market.adl_position == taker_key),
        PerpsError::AdlPending
    );
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
            !order_book.book.would_cross(side, price),
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
    let outcome = order_book
        .book
        .match_order(
            &taker_order,
            |order, offered| -> std::result::Result<_, CallbackError> {
                let Some(maker_info) = ctx
                    .remaining_accounts
                    .iter()
                    .find(|a| a.key.to_bytes() == order.maker)
                else {
                    return Ok(MakerResponse::Stop);
                };
                let fill =
                    settle_fill(&mut market, &mut taker, maker_info, order, offered, &rules)?;
                fees_collected = fees_collected
                    .checked_add(fill.maker_fee)
                    .and_then(|f| f.checked_add(fill.taker_fee))?;
                if fill.lots.0 > 0 {
                    emit!(Fill {
                        market: market_key,
                        maker: *maker_info.key,
                        taker: taker_key,
                        maker_order_id: order.order_id,
                        taker_side: args.side,
                        price: order.price,
                        lots: fill.lots.0,
                        maker_fee: fill.maker_fee.0 as i64,
                        taker_fee: fill.taker_fee.0 as i64,
                    });
                }
                if let Some(reason) = fill.cancelled {
                    emit!(OrderCancelled {
                        market: market_key,
                        position: *maker_info.key,
                        order_id: order.order_id,
                        lots: order.lots - fill.lots.0,
                        reason,
                    });
                }
                Ok(MakerResponse::Fill {
                    lots: fill.lots,
                    cancel_rest: fill.cancelled.is_some(),
                })
            },
        )
        .map_err(|e| e.0)?;
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
        emit!(OrderCancelled {
            market: market_key,
            position: taker_key,
            order_id: 0,
            lots: outcome.self_trade_cancelled_lots.0,
            reason: CANCEL_SELF_TRADE,
        });
    }

    let remaining = lots - outcome.filled.0;
    let mut rested_id = 0;
    if remaining > 0 && args.order_type != OrderType::ImmediateOrCancel {
        require!(
            !(outcome.stopped && order_book.book.would_cross(side, price)),
            PerpsError::MissingMakerAccount
        );
        require!(
            taker.open_order_count < MAX_OPEN_ORDERS_PER_POSITION,
            PerpsError::TooManyOrders
        );
        rested_id = order_book
            .book
            .rest(
                side,
                taker_key.to_bytes(),
                price,
                BaseLots(remaining),
                args.client_order_id,
                reduce_only,
            )
            .map_err(PerpsError::from)?;
        taker.add_open_orders(side, remaining, 1)?;
    }

    let after = taker.state();
    let health = after
        .health(
            oracle_price,
            &tiers,
            market.initial_margin_factor(oracle_price)?,
        )
        .map_err(PerpsError::from)?;
    let reduced = before
        .is_risk_reduced_by(&after)
        .map_err(PerpsError::from)?;
    require!(!market.is_adl_pending() || reduced, PerpsError::AdlPending);
    require!(
        health.meets_initial() || (reduced && health.equity >= SignedQuote::ZERO),
        PerpsError::InsufficientMargin
    );
    require!(
        market.open_interest_long <= params.max_open_interest_lots
            || market.open_interest_long <= open_interest_before,
        PerpsError::OpenInterestCapExceeded
    );

    let split = fees::split_fees(fees_collected, params.fee_insurance_share_bps)
        .map_err(PerpsError::from)?;
    let signer = market.signer();
    drop(taker);
    drop(order_book);
    drop(market);
    for (amount, destination) in [
        (split.insurance, &ctx.accounts.insurance_vault),
        (split.treasury, &ctx.accounts.treasury),
    ] {
        let amount = u64::try_from(amount.0).map_err(|_| PerpsError::MathOverflow)?;
        if amount > 0 {
            vault::transfer_out(
                &ctx.accounts.token_program,
                &ctx.accounts.collateral_vault,
                destination,
                ctx.accounts.market.to_account_info(),
                &signer,
                amount,
            )?;
        }
    }
    emit!(OrderPlaced {
        market: market_key,
        position: taker_key,
        order_id: rested_id,
        client_order_id: args.client_order_id,
        side: args.side,
        price: args.price,
        lots,
        filled: outcome.filled.0,
        rested: if rested_id > 0 { remaining } else { 0 },
    });
    Ok(())
}

/// What every fill of one taker order is judged against.
struct FillRules<'a> {
    market_key: &'a Pubkey,
    taker_side: OrderSide,
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
    cancelled: Option<u8>,
    maker_fee: SignedQuote,
    taker_fee: SignedQuote,
}

/// Settles one fill between a resting order's maker and the taker: funding, size and cost basis,
/// realized PnL, fees and the maker's open-order totals. A maker order fills only what its
/// maker may take: a reduce-only order (or any order in a reduce-only market) only what shrinks
/// the position; and no order fills that is priced outside the band around the current oracle,
/// or that would leave its maker with new risk below maintenance margin or with negative equity
/// (a stale order). What cannot fill is cancelled.
fn settle_fill<'info>(
    market: &mut Market,
    taker: &mut Position,
    maker_info: &'info AccountInfo<'info>,
    order: &RestingOrder,
    offered: BaseLots,
    rules: &FillRules,
) -> Result<MakerFill> {
    let loader = AccountLoader::<Position>::try_from(maker_info)?;
    let mut maker = loader.load_mut()?;
    require_keys_eq!(maker.market, *rules.market_key, PerpsError::WrongMarket);
    maker.settle_funding(market)?;
    let maker_side = rules.taker_side.opposite();
    let price = Price(order.price);
    let notional_of = |lots: BaseLots| price.value_of(lots).map_err(PerpsError::from);
    let maker_fee_of = |lots: BaseLots| -> Result<SignedQuote> {
        Ok(
            fees::fee(notional_of(lots)?, market.params.maker_fee_bps as i32)
                .map_err(PerpsError::from)?,
        )
    };

    let before = maker.state();
    let mut lots = offered;
    let mut reason = CANCEL_REDUCE_ONLY;
    if order.reduce_only == 1 || rules.reduce_only_market {
        lots = BaseLots(lots.0.min(before.reducible_lots(maker_side).0));
    }
    if !within_band(price, rules.oracle, rules.band) {
        lots = BaseLots(0);
        reason = CANCEL_STALE;
    } else if lots.0 > 0 {
        let mut after = before;
        after
            .apply_fill(SignedLots(maker_side.sign() * lots.0 as i64), price)
            .map_err(PerpsError::from)?;
        after.collateral = after
            .collateral
            .checked_sub(maker_fee_of(lots)?)
            .map_err(PerpsError::from)?;
        let health = after
            .health(rules.oracle, rules.tiers, RatePpm::ONE)
            .map_err(PerpsError::from)?;
        if health.equity < SignedQuote::ZERO
            || (health.is_liquidatable() && !before.exposure_reduced_by(&after))
        {
            lots = BaseLots(0);
            reason = CANCEL_STALE;
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
    let taker_fee = fees::fee(notional_of(lots)?, market.params.taker_fee_bps as i32)
        .map_err(PerpsError::from)?;
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
