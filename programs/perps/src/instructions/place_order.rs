use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    book::{within_band, MakerResponse, TakerOrder},
    fees, BaseLots, OracleUse, OrderSide, Price, RatePpm, RestingOrder, SignedLots, SignedQuote,
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
                let (filled, cancel_rest, maker_fee, taker_fee) = settle_fill(
                    &mut market,
                    &mut taker,
                    maker_info,
                    order,
                    offered,
                    side,
                    &market_key,
                )?;
                fees_collected = fees_collected
                    .checked_add(maker_fee)
                    .and_then(|f| f.checked_add(taker_fee))?;
                if filled.0 > 0 {
                    emit!(Fill {
                        market: market_key,
                        maker: *maker_info.key,
                        taker: taker_key,
                        maker_order_id: order.order_id,
                        taker_side: args.side,
                        price: order.price,
                        lots: filled.0,
                        maker_fee: maker_fee.0 as i64,
                        taker_fee: taker_fee.0 as i64,
                    });
                }
                if cancel_rest {
                    emit!(OrderCancelled {
                        market: market_key,
                        position: *maker_info.key,
                        order_id: order.order_id,
                        lots: order.lots - filled.0,
                        reason: CANCEL_REDUCE_ONLY,
                    });
                }
                Ok(MakerResponse::Fill {
                    lots: filled,
                    cancel_rest,
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
            &params.margin_tiers()?,
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

/// Settles one fill between a resting order's maker and the taker: funding, size and cost basis,
/// realized PnL, fees and the maker's open-order totals. A reduce-only maker fills only what
/// shrinks its position and gives up the rest of its order. Returns
/// `(lots filled, cancel the rest, maker fee, taker fee)`.
fn settle_fill<'info>(
    market: &mut Market,
    taker: &mut Position,
    maker_info: &'info AccountInfo<'info>,
    order: &RestingOrder,
    offered: BaseLots,
    taker_side: OrderSide,
    market_key: &Pubkey,
) -> Result<(BaseLots, bool, SignedQuote, SignedQuote)> {
    let loader = AccountLoader::<Position>::try_from(maker_info)?;
    let mut maker = loader.load_mut()?;
    require_keys_eq!(maker.market, *market_key, PerpsError::WrongMarket);
    maker.settle_funding(market)?;
    let maker_side = taker_side.opposite();
    let lots = if order.reduce_only == 1 {
        BaseLots(offered.0.min(maker.state().reducible_lots(maker_side).0))
    } else {
        offered
    };
    let cancel_rest = lots < offered && order.reduce_only == 1;
    let order_done = cancel_rest || lots.0 == order.lots;
    let removed_lots = if cancel_rest { order.lots } else { lots.0 };
    maker.remove_open_orders(maker_side, removed_lots, order_done as u32)?;
    if lots.0 == 0 {
        return Ok((lots, cancel_rest, SignedQuote::ZERO, SignedQuote::ZERO));
    }
    let price = Price(order.price);
    let notional = price.value_of(lots).map_err(PerpsError::from)?;
    maker.apply_fill(market, SignedLots(maker_side.sign() * lots.0 as i64), price)?;
    taker.apply_fill(market, SignedLots(taker_side.sign() * lots.0 as i64), price)?;
    let maker_fee =
        fees::fee(notional, market.params.maker_fee_bps as i32).map_err(PerpsError::from)?;
    let taker_fee =
        fees::fee(notional, market.params.taker_fee_bps as i32).map_err(PerpsError::from)?;
    maker.charge_fee(maker_fee)?;
    taker.charge_fee(taker_fee)?;
    Ok((lots, cancel_rest, maker_fee, taker_fee))
}
