use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{Price, SignedLots};

use crate::{
    error::PerpsError,
    events::{Emitter, EventHeader, OrderCancelled, PositionSettled},
    state::{CancelReason, Exchange, Market, MarketStatus, OrderBook, Position, EXCHANGE_SEED},
    vault::{self, Payout},
};

#[event_cpi]
#[derive(Accounts)]
pub struct SettlePosition<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    #[account(mut, has_one = market @ PerpsError::WrongMarket)]
    pub position: AccountLoader<'info, Position>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless, in a Settled market only (DESIGN.md §11): closes one position at the
/// market's settlement price, with its funding settled first, its resting orders cancelled and
/// no fee; its owner then withdraws everything and closes the account. Sweeps the market's whole
/// atoms of funding rounding to the insurance vault (the funding crank no longer runs); the
/// insurance vault pays up a position the price leaves below zero, and a flat ADL book's deficit.
pub fn handler(ctx: Context<SettlePosition>) -> Result<()> {
    let accounts = &ctx.accounts;
    let market_key = accounts.market.key();
    let position_key = accounts.position.key();
    let mut market = accounts.market.load_mut()?;
    let mut position = accounts.position.load_mut()?;
    let insurance_available = accounts
        .insurance_vault
        .amount
        .saturating_sub(market.params.insurance_floor);
    let settlement = settle_position_action(
        &mut market,
        market_key,
        &mut *accounts.order_book.load_mut()?,
        &mut position,
        position_key,
        insurance_available,
    )?;
    let (from_insurance, to_insurance) = (
        settlement.event.from_insurance,
        settlement.event.to_insurance,
    );
    let mut emitter = Emitter::new(&accounts.event_authority)?;
    for cancelled in settlement.cancelled {
        emitter.emit_market(&mut market, cancelled)?;
    }
    emitter.emit_market(&mut market, settlement.event)?;
    emitter.flush()?;
    vault::release_then_pay_out(
        market,
        position,
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[
            Payout {
                from: &accounts.insurance_vault,
                to: &accounts.collateral_vault,
                amount: from_insurance,
            },
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.insurance_vault,
                amount: to_insurance,
            },
        ],
    )
}

/// What settling one position did.
pub struct Settlement {
    pub event: PositionSettled,
    /// Its resting orders, cancelled.
    pub cancelled: Vec<OrderCancelled>,
}

/// Settles `position` (the account at `key`) in a Settled market (`MarketNotSettled` otherwise):
/// funding first (`Position::settle_funding`), then every resting order cancelled
/// (`OrderBook::cancel_all_of`), then its lots closed at `market.settlement_price` with
/// `Position::apply_fill` and no fee (open interest moves with it). A whole close realizes
/// exactly `lots · price − cost basis`, no rounding: longs and shorts close at one price, so the
/// realized PnL of all positions sums to minus their cost bases and no atom is made or lost.
///
/// The market's funding rounding is then swept, its whole atoms to insurance, as `crank_funding`
/// does in a trading market: once every position has settled at the final index, the residue is
/// whole atoms, so the last settlement leaves none in the collateral vault. And a flat ADL book
/// (opposite bankruptcies that netted to no lots) that still holds collateral is cleared: a
/// surplus goes to insurance, a deficit is paid by the insurance vault from
/// `insurance_available` (above its floor), as the next ADL would have.
///
/// A position left with negative collateral at the settlement price (it was not liquidated
/// before the market settled) is paid up to zero by the insurance vault first, as far as
/// `insurance_available` goes.
///
/// A position with no lots and no orders is refused with `FlatPosition` (a keeper reads it as
/// "already settled"), unless the market still has something to move (a whole atom of residue,
/// a flat book's surplus, or its deficit or the position's own negative collateral while the
/// insurance vault has something above its floor): then the call only does that, so a market
/// whose positions were all flat when it settled can still bring its collateral vault to exactly
/// what the positions hold.
pub fn settle_position_action(
    market: &mut Market,
    market_key: Pubkey,
    book: &mut OrderBook,
    position: &mut Position,
    key: Pubkey,
    insurance_available: u64,
) -> Result<Settlement> {
    require!(
        market.status()? == MarketStatus::Settled,
        PerpsError::MarketNotSettled
    );
    require!(
        position.base_lots != 0
            || position.has_open_orders()
            || market.has_settlement_leftovers(insurance_available)
            || (position.collateral < 0 && insurance_available > 0),
        PerpsError::FlatPosition
    );
    let price = Price(market.settlement_price);
    let before_funding = position.collateral;
    position.settle_funding(market)?;
    let funding = before_funding - position.collateral;

    let orders = book.cancel_all_of(&key, position)?;
    let cancelled_lots = orders.iter().map(|o| o.lots).sum();
    let cancelled = orders
        .iter()
        .map(|o| o.event(market_key, key, CancelReason::BySettlement))
        .collect();

    let lots = position.base_lots;
    let before_close = position.collateral;
    if lots != 0 {
        position.apply_fill(market, SignedLots(-lots), price)?;
    }
    let realized_pnl = position.collateral - before_close;

    // The funding crank is refused once settled: settlement sweeps the rounding instead.
    let mut to_insurance = market.take_funding_residue();
    // A position the settlement price leaves below zero is a real loss: the insurance vault
    // pays it as far as it can (ADL no longer runs); what it cannot pay stays on the position.
    let mut from_insurance = 0;
    if position.collateral < 0 {
        from_insurance = insurance_available.min(position.collateral.unsigned_abs());
        position.add_collateral(from_insurance)?;
    }
    let insurance_available = insurance_available - from_insurance;
    if market.adl_book.base_lots == 0 {
        let left = market.adl_book.collateral;
        if left > 0 {
            to_insurance += left as u64;
            market.adl_book.collateral = 0;
        } else if left < 0 {
            let paid = insurance_available.min(left.unsigned_abs());
            market.adl_book.add_collateral(paid)?;
            from_insurance += paid;
        }
        market.adl_book.cost_basis = 0;
    }
    Ok(Settlement {
        event: PositionSettled {
            header: EventHeader::of(market_key),
            position: key,
            lots,
            price: price.0,
            realized_pnl,
            funding,
            cancelled_lots,
            collateral: position.collateral,
            to_insurance,
            from_insurance,
        },
        cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, USDC};
    use perps_engine::{BaseLots, OrderSide};

    const P: i64 = 60 * USDC as i64;

    struct Fixture {
        market: Box<Market>,
        key: Pubkey,
        book: Box<OrderBook>,
    }

    /// A market settled at 66 USDC a lot with open interest 100 a side, whose funding index
    /// moved by 1.234567 atoms a lot since the positions opened.
    fn settled() -> Fixture {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        market.status = MarketStatus::Settled as u8;
        market.settlement_price = 66 * USDC;
        market.open_interest_long = 100;
        market.open_interest_short = 100;
        market.funding_index = 1_234_567;
        Fixture {
            market,
            key,
            book: testing::order_book(key),
        }
    }

    fn settle(f: &mut Fixture, position: &mut Position, key: Pubkey) -> Result<Settlement> {
        settle_position_action(
            &mut f.market,
            f.key,
            &mut f.book,
            position,
            key,
            1_000 * USDC,
        )
    }

    #[test]
    fn a_long_and_a_short_close_at_the_settlement_price_funding_first_orders_cancelled() {
        let mut f = settled();
        // Long 100 at 60 with 200 USDC, short 100 at 60 with 1,000 USDC: 1,200 USDC in all.
        let (long_key, short_key) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut long = testing::position(f.key, (200 * USDC) as i64, 100, P);
        let mut short = testing::position(f.key, (1_000 * USDC) as i64, -100, P);
        // The long also rests a 3-lot bid and a 5-lot ask.
        for (side, price, lots) in [
            (OrderSide::Bid, 59 * USDC, 3),
            (OrderSide::Ask, 67 * USDC, 5),
        ] {
            f.book
                .book
                .rest(
                    side,
                    long_key.to_bytes(),
                    Price(price),
                    BaseLots(lots),
                    1,
                    false,
                )
                .unwrap();
            long.add_open_orders(side, lots, 1).unwrap();
        }

        // Funding first: the long owes 123.4567 atoms, rounded up to 124 (0.5433 atom of
        // residue); then it sells 100 at 66 against a basis of 6,000: +600 USDC.
        let s = settle(&mut f, &mut long, long_key).unwrap();
        assert_eq!(
            (
                s.event.lots,
                s.event.price,
                s.event.funding,
                s.event.realized_pnl
            ),
            (100, 66 * USDC, 124, (600 * USDC) as i64)
        );
        assert_eq!(s.event.collateral, (800 * USDC) as i64 - 124);
        assert_eq!(s.event.cancelled_lots, 8);
        let cancelled: Vec<(u64, CancelReason)> =
            s.cancelled.iter().map(|c| (c.lots, c.reason)).collect();
        assert_eq!(
            cancelled.iter().map(|c| c.0).sum::<u64>(),
            8,
            "{cancelled:?}"
        );
        assert!(cancelled.iter().all(|c| c.1 == CancelReason::BySettlement));
        assert!(!long.has_open_orders());
        assert!(f.book.book.side(OrderSide::Ask).orders().is_empty());
        assert_eq!((long.base_lots, long.cost_basis), (0, 0));
        assert_eq!(long.funding_index_snapshot, 1_234_567);
        // Not a whole atom of residue yet: nothing swept.
        assert_eq!(
            (f.market.funding_residue, s.event.to_insurance),
            (543_300, 0)
        );
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 100)
        );

        // The short receives 123.4567, rounded down to 123 (0.4567 atom of residue), and buys
        // back 100 at 66 against 6,000 of proceeds: −600 USDC. The residue is now exactly one
        // atom, swept to insurance.
        let s = settle(&mut f, &mut short, short_key).unwrap();
        assert_eq!(
            (s.event.lots, s.event.funding, s.event.realized_pnl),
            (-100, -123, -((600 * USDC) as i64))
        );
        assert_eq!(s.event.collateral, (400 * USDC) as i64 + 123);
        assert!(s.cancelled.is_empty());
        assert_eq!((f.market.funding_residue, s.event.to_insurance), (0, 1));
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 0)
        );
        // Conserved to the atom: 1,200 USDC = both collaterals + the atom swept.
        assert_eq!(
            long.collateral + short.collateral + 1,
            (1_200 * USDC) as i64
        );

        // Twice: nothing left to do.
        assert_eq!(
            settle(&mut f, &mut long, long_key).err().unwrap(),
            PerpsError::FlatPosition.into()
        );
    }

    #[test]
    fn refused_unless_settled_and_a_flat_position_with_only_orders_loses_them() {
        let mut f = settled();
        let key = Pubkey::new_unique();
        let mut position = testing::position(f.key, 100, 0, 0);
        assert_eq!(
            settle(&mut f, &mut position, key).err().unwrap(),
            PerpsError::FlatPosition.into()
        );
        f.book
            .book
            .rest(
                OrderSide::Bid,
                key.to_bytes(),
                Price(P as u64),
                BaseLots(4),
                1,
                false,
            )
            .unwrap();
        position.add_open_orders(OrderSide::Bid, 4, 1).unwrap();
        for status in [
            MarketStatus::Active,
            MarketStatus::ReduceOnly,
            MarketStatus::Paused,
        ] {
            f.market.status = status as u8;
            assert_eq!(
                settle(&mut f, &mut position, key).err().unwrap(),
                PerpsError::MarketNotSettled.into()
            );
        }
        assert!(position.has_open_orders());
        f.market.status = MarketStatus::Settled as u8;
        let s = settle(&mut f, &mut position, key).unwrap();
        assert_eq!(
            (s.event.lots, s.event.realized_pnl, s.event.cancelled_lots),
            (0, 0, 4)
        );
        assert_eq!(position.collateral, 100);
        assert!(!position.has_open_orders());
    }

    #[test]
    fn a_position_below_zero_at_the_settlement_price_is_paid_up_by_insurance_as_far_as_it_goes() {
        // Short 100 at 60 with 100 USDC, settled at 66: −600 realized leaves −500; the vault has
        // 300 above its floor and pays them; −200 stays (the owner cannot close the account).
        let mut f = settled();
        let key = Pubkey::new_unique();
        let mut short = testing::position(f.key, (100 * USDC) as i64, -100, P);
        f.market.funding_index = 0;
        let s = settle_position_action(
            &mut f.market,
            f.key,
            &mut f.book,
            &mut short,
            key,
            300 * USDC,
        )
        .unwrap();
        assert_eq!(
            (
                s.event.realized_pnl,
                s.event.from_insurance,
                short.collateral
            ),
            (-((600 * USDC) as i64), 300 * USDC, -((200 * USDC) as i64))
        );
        // Once the vault is funded again, settling the flat position once more pays the rest:
        // the account can close and the last withdrawal is whole.
        let s = settle_position_action(
            &mut f.market,
            f.key,
            &mut f.book,
            &mut short,
            key,
            1_000 * USDC,
        )
        .unwrap();
        assert_eq!((s.event.from_insurance, short.collateral), (200 * USDC, 0));
        assert_eq!(
            settle_position_action(&mut f.market, f.key, &mut f.book, &mut short, key, 1_000)
                .err()
                .unwrap(),
            PerpsError::FlatPosition.into()
        );
    }

    #[test]
    fn a_flat_position_still_sweeps_whole_residue_and_clears_a_flat_adl_book() {
        let mut f = settled();
        let key = Pubkey::new_unique();
        let mut flat = testing::position(f.key, 0, 0, 0);
        // Two and a half atoms of residue: two are swept, the half stays.
        f.market.funding_residue = 2_500_000;
        let s = settle(&mut f, &mut flat, key).unwrap();
        assert_eq!(
            (s.event.to_insurance, f.market.funding_residue),
            (2, 500_000)
        );
        assert_eq!(
            settle(&mut f, &mut flat, key).err().unwrap(),
            PerpsError::FlatPosition.into()
        );
        // A flat ADL book 30 USDC short: the vault pays what it holds above its floor (here 20).
        f.market.adl_book.collateral = -((30 * USDC) as i64);
        let s =
            settle_position_action(&mut f.market, f.key, &mut f.book, &mut flat, key, 20 * USDC)
                .unwrap();
        assert_eq!(
            (s.event.from_insurance, f.market.adl_book.collateral),
            (20 * USDC, -((10 * USDC) as i64))
        );
        // A flat book's surplus goes to insurance.
        f.market.adl_book.collateral = 7;
        let s = settle(&mut f, &mut flat, key).unwrap();
        assert_eq!((s.event.to_insurance, f.market.adl_book.collateral), (7, 0));
    }
}
