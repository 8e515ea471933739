use anchor_lang::prelude::*;
use perps_engine::{
    funding, open_interest_change, BaseLots, OrderSide, PositionState, SignedLots, SignedPrice,
    SignedQuote,
};

use crate::{
    error::{EngineResultExt, PerpsError},
    state::Market,
};

pub const POSITION_SEED: &[u8] = b"position";

/// One owner's isolated-margin position in one market (DESIGN.md §4).
#[account(zero_copy)]
#[derive(Debug)]
pub struct Position {
    /// The market.
    pub market: Pubkey,
    /// The position's owner.
    pub owner: Pubkey,
    /// Collateral in quote atoms, with funding settled into it up to `funding_index_snapshot`.
    pub collateral: i64,
    /// Signed size in base lots: positive long, negative short.
    pub base_lots: i64,
    /// Signed quote atoms paid for the open size (negative for a short).
    pub cost_basis: i64,
    /// The market's funding index when funding was last settled.
    pub funding_index_snapshot: i64,
    /// Lots on this position's resting bids and asks.
    pub open_bid_lots: u64,
    /// Lots on the position's resting asks.
    pub open_ask_lots: u64,
    /// Resting orders of the position.
    pub open_order_count: u32,
    /// Its slot in the market's `PositionRegistry`.
    pub registry_slot: u32,
    /// The PDA's bump.
    pub bump: u8,
    /// The account layout's version (`Position::VERSION` when opened).
    pub version: u8,
    pub _padding: [u8; 6],
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 64],
}

// The README's account table: 8 + 192 bytes, 64 of them reserved.
const _: () = assert!(8 + std::mem::size_of::<Position>() == 200);

/// Position accounts an instruction reaches by address: the makers a taker order meets, the
/// positions a ranking sweep scores, the candidates of an ADL step.
pub trait PositionAccounts {
    /// Runs `f` on the position at `key`, loaded for writing; `None` when no live position is
    /// there (the account was not supplied, or has been closed).
    fn with_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&mut Position) -> Result<R>,
    ) -> Result<Option<R>>;

    /// `with_position` for reading: the account need not be writable.
    fn read_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&Position) -> Result<R>,
    ) -> Result<Option<R>>;
}

/// An instruction's remaining accounts as positions, each loaded (owner and discriminator
/// checked) only when it is reached.
pub struct RemainingPositions<'info>(pub &'info [AccountInfo<'info>]);

impl<'info> RemainingPositions<'info> {
    /// The supplied account at `key`, unless it has been closed (its lamports and data gone,
    /// owned by the system program again).
    fn live(&self, key: &Pubkey) -> Result<Option<AccountLoader<'info, Position>>> {
        let Some(info) = self.0.iter().find(|account| account.key == key) else {
            return Ok(None);
        };
        if info.owner == &System::id() && info.data_is_empty() {
            return Ok(None);
        }
        AccountLoader::<Position>::try_from(info).map(Some)
    }
}

impl PositionAccounts for RemainingPositions<'_> {
    fn with_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&mut Position) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some(loader) = self.live(key)? else {
            return Ok(None);
        };
        let mut position = loader.load_mut()?;
        f(&mut position).map(Some)
    }

    fn read_position<R>(
        &mut self,
        key: &Pubkey,
        f: impl FnOnce(&Position) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some(loader) = self.live(key)? else {
            return Ok(None);
        };
        let position = loader.load()?;
        f(&position).map(Some)
    }
}

fn to_i64(value: i128) -> Result<i64> {
    i64::try_from(value).map_err(|_| error!(PerpsError::MathOverflow))
}

impl Position {
    pub const VERSION: u8 = 1;

    /// The figures the engine judges the position by (funding as last settled).
    pub fn state(&self) -> PositionState {
        PositionState {
            collateral: SignedQuote(self.collateral as i128),
            size: SignedLots(self.base_lots),
            cost_basis: SignedQuote(self.cost_basis as i128),
            open_bids: BaseLots(self.open_bid_lots),
            open_asks: BaseLots(self.open_ask_lots),
        }
    }

    fn store(&mut self, state: &PositionState) -> Result<()> {
        self.collateral = to_i64(state.collateral.0)?;
        self.base_lots = state.size.0;
        self.cost_basis = to_i64(state.cost_basis.0)?;
        Ok(())
    }

    pub fn has_open_orders(&self) -> bool {
        self.open_order_count > 0 || self.open_bid_lots > 0 || self.open_ask_lots > 0
    }

    /// Refuses to close an account that still holds size, resting orders or collateral.
    pub fn require_closable(&self) -> Result<()> {
        require!(self.base_lots == 0, PerpsError::PositionNotFlat);
        require!(!self.has_open_orders(), PerpsError::PositionHasOpenOrders);
        require!(self.collateral == 0, PerpsError::PositionHasCollateral);
        Ok(())
    }

    /// Funding owed since the snapshot at the market's `funding_index` (positive pays), and the
    /// rounding the system keeps, in index units.
    pub fn pending_funding(&self, funding_index: i64) -> Result<(SignedQuote, i128)> {
        let delta = funding_index
            .checked_sub(self.funding_index_snapshot)
            .ok_or(PerpsError::MathOverflow)?;
        funding::funding_owed(SignedLots(self.base_lots), delta).map_engine_err()
    }

    /// The position as it stands with funding settled up to `funding_index`, without changing it:
    /// what off-chain readers judge it by.
    pub fn state_at(&self, funding_index: i64) -> Result<PositionState> {
        let (owed, _) = self.pending_funding(funding_index)?;
        let mut state = self.state();
        state.collateral = state.collateral.checked_sub(owed).map_engine_err()?;
        Ok(state)
    }

    /// Settles funding up to the market's index: collateral pays (or receives) what the engine
    /// says is owed, and the rounding it kept joins the market's residue for insurance.
    pub fn settle_funding(&mut self, market: &mut Market) -> Result<()> {
        let (owed, residue) = self.pending_funding(market.funding_index)?;
        self.collateral = to_i64(self.collateral as i128 - owed.0)?;
        market.funding_residue = to_i64(market.funding_residue as i128 + residue)?;
        self.funding_index_snapshot = market.funding_index;
        Ok(())
    }

    /// Applies a fill of `delta` lots at `price` (funding must be settled first), realizing PnL
    /// into collateral and moving the market's open interest. The price is a `Price`, or for ADL
    /// a `SignedPrice` that may be negative.
    pub fn apply_fill(
        &mut self,
        market: &mut Market,
        delta: SignedLots,
        price: impl Into<SignedPrice>,
    ) -> Result<()> {
        let mut state = self.state();
        state.apply_fill(delta, price).map_engine_err()?;
        let (long, short) = open_interest_change(SignedLots(self.base_lots), state.size);
        market.open_interest_long = u64::try_from(market.open_interest_long as i128 + long)
            .map_err(|_| PerpsError::MathOverflow)?;
        market.open_interest_short = u64::try_from(market.open_interest_short as i128 + short)
            .map_err(|_| PerpsError::MathOverflow)?;
        self.store(&state)
    }

    /// Adds `amount` atoms to collateral (a deposit, or the insurance vault's payment).
    pub fn add_collateral(&mut self, amount: u64) -> Result<()> {
        self.collateral = i64::try_from(amount)
            .ok()
            .and_then(|amount| self.collateral.checked_add(amount))
            .ok_or(PerpsError::MathOverflow)?;
        Ok(())
    }

    /// Takes a fee from collateral (a negative fee, a rebate, adds to it).
    pub fn charge_fee(&mut self, fee: SignedQuote) -> Result<()> {
        self.collateral = to_i64(self.collateral as i128 - fee.0)?;
        Ok(())
    }

    /// Records `orders` new resting orders of `lots` on `side`.
    pub fn add_open_orders(&mut self, side: OrderSide, lots: u64, orders: u32) -> Result<()> {
        let total = match side {
            OrderSide::Bid => &mut self.open_bid_lots,
            OrderSide::Ask => &mut self.open_ask_lots,
        };
        *total = total.checked_add(lots).ok_or(PerpsError::MathOverflow)?;
        self.open_order_count = self
            .open_order_count
            .checked_add(orders)
            .ok_or(PerpsError::MathOverflow)?;
        Ok(())
    }

    /// Forgets `lots` of resting orders on `side`, `orders` of which left the book.
    pub fn remove_open_orders(&mut self, side: OrderSide, lots: u64, orders: u32) -> Result<()> {
        let total = match side {
            OrderSide::Bid => &mut self.open_bid_lots,
            OrderSide::Ask => &mut self.open_ask_lots,
        };
        *total = total.checked_sub(lots).ok_or(PerpsError::MathOverflow)?;
        self.open_order_count = self
            .open_order_count
            .checked_sub(orders)
            .ok_or(PerpsError::MathOverflow)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn only_a_flat_order_free_empty_position_closes() {
        let market = Pubkey::new_unique();
        assert!(testing::position(market, 0, 0, 0)
            .require_closable()
            .is_ok());
        let refusal = |position: Position| position.require_closable().unwrap_err();
        assert_eq!(
            refusal(testing::position(market, 0, 1, 60)),
            PerpsError::PositionNotFlat.into()
        );
        assert_eq!(
            refusal(testing::position(market, 1, 0, 0)),
            PerpsError::PositionHasCollateral.into()
        );
        let mut quoting = testing::position(market, 0, 0, 0);
        quoting.add_open_orders(OrderSide::Ask, 3, 1).unwrap();
        assert_eq!(refusal(quoting), PerpsError::PositionHasOpenOrders.into());
    }

    #[test]
    fn collateral_additions_and_fees_refuse_overflow() {
        let mut position = testing::position(Pubkey::new_unique(), i64::MAX - 1, 0, 0);
        assert_eq!(
            position.add_collateral(2).unwrap_err(),
            PerpsError::MathOverflow.into()
        );
        position.add_collateral(1).unwrap();
        position.charge_fee(SignedQuote(-5)).unwrap_err();
        assert_eq!(position.collateral, i64::MAX);
    }

    #[test]
    fn settling_funding_moves_collateral_by_the_index_and_keeps_the_rounding_for_insurance() {
        // The index rose by 1.5 atoms a lot (in millionths): a 3-lot long pays 4.5, rounded up
        // to 5, and the half atom it overpaid joins the market's residue.
        let mut market = testing::market();
        market.funding_index = 1_500_000;
        let mut long = testing::position(Pubkey::new_unique(), 100, 3, 60);
        long.settle_funding(&mut market).unwrap();
        assert_eq!(
            (long.collateral, long.funding_index_snapshot),
            (95, 1_500_000)
        );
        assert_eq!(market.funding_residue, 500_000);
        // Settling again owes nothing.
        long.settle_funding(&mut market).unwrap();
        assert_eq!(long.collateral, 95);
    }
}
