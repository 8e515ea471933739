use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{liquidation::plan_liquidation, OracleUse, SignedLots, SignedQuote};

use crate::{
    error::PerpsError,
    events::{AdlStarted, Bankruptcy, Liquidation, OrderCancelled},
    instructions::place_order::CANCEL_BY_LIQUIDATION,
    oracle,
    state::{Market, OrderBook, Position},
    vault,
};

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    /// The liquidator's own position in this market, which takes the lots over.
    #[account(
        mut,
        constraint = liquidator_position.load()?.owner == liquidator.key() @ PerpsError::Unauthorized,
        constraint = liquidator_position.load()?.market == market.key() @ PerpsError::WrongMarket,
    )]
    pub liquidator_position: AccountLoader<'info, Position>,
    #[account(mut, has_one = market @ PerpsError::WrongMarket)]
    pub position: AccountLoader<'info, Position>,
    /// CHECK: read through `oracle::observe_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless (DESIGN.md §7): liquidates a position whose equity is below maintenance margin
/// at a fresh oracle price. Its resting orders are cancelled; the liquidator takes over the
/// smallest lot count that restores `MM · (1 + buffer)` (or all of it) at the oracle price less
/// (long) or plus (short) the liquidation fee, and the insurance vault receives its fee. A
/// position bankrupt on the full close has its deficit paid by the insurance vault; when the
/// vault holds less, it pays what it holds above its floor and the position waits for ADL.
pub fn handler(ctx: Context<Liquidate>) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let target_key = ctx.accounts.position.key();
    require_keys_neq!(
        target_key,
        ctx.accounts.liquidator_position.key(),
        PerpsError::SelfLiquidation
    );
    let mut market = ctx.accounts.market.load_mut()?;
    market.require_open()?;
    // The position waiting for ADL is neither liquidated again nor takes others' lots over.
    let liquidator_key = ctx.accounts.liquidator_position.key();
    require!(
        !(market.is_adl_pending()
            && (market.adl_position == target_key || market.adl_position == liquidator_key)),
        PerpsError::AdlPending
    );
    let oracle_price = oracle::observe_price(
        &mut market,
        &market_key,
        &ctx.accounts.oracle,
        OracleUse::Liquidation,
    )?;
    let params = market.params;
    let tiers = params.margin_tiers()?;
    let mut target = ctx.accounts.position.load_mut()?;
    let mut liquidator = ctx.accounts.liquidator_position.load_mut()?;
    target.settle_funding(&mut market)?;
    liquidator.settle_funding(&mut market)?;

    let plan = plan_liquidation(
        &target.state(),
        oracle_price,
        &tiers,
        &params.liquidation_params(),
    )
    .map_err(PerpsError::from)?;

    let cancelled = ctx
        .accounts
        .order_book
        .load_mut()?
        .cancel_all_of(&target_key, &mut target)?;
    if cancelled.orders > 0 {
        emit!(OrderCancelled {
            market: market_key,
            position: target_key,
            order_id: 0,
            lots: cancelled.bid_lots.0 + cancelled.ask_lots.0,
            reason: CANCEL_BY_LIQUIDATION,
        });
    }

    let deficit = to_u64(plan.deficit)?;
    let insurance_available = ctx
        .accounts
        .insurance_vault
        .amount
        .saturating_sub(params.insurance_floor);
    let mut paid_by_insurance = deficit.min(insurance_available);
    let side_sign = target.base_lots.signum();
    let mut insurance_fee = 0;
    if deficit > paid_by_insurance {
        // The vault cannot cover it: the position is not taken over but waits for ADL at the
        // bankruptcy price its collateral and the vault's contribution give it.
        require!(!market.is_adl_pending(), PerpsError::AdlPending);
        // No liquidator earns the fee here: the vault pays at most what the position lacks at
        // the oracle price, so its money is not handed to the ADL candidates as a discount.
        let oracle_deficit = target
            .state()
            .equity(oracle_price)
            .map_err(PerpsError::from)?
            .0
            .min(0)
            .unsigned_abs();
        paid_by_insurance =
            paid_by_insurance.min(u64::try_from(oracle_deficit).unwrap_or(u64::MAX));
        target.collateral = target
            .collateral
            .checked_add(paid_by_insurance as i64)
            .ok_or(PerpsError::MathOverflow)?;
        let bankruptcy_price = target
            .state()
            .bankruptcy_price()
            .map_err(PerpsError::from)?;
        market.adl_pending = 1;
        market.adl_position = target_key;
        market.adl_lots = target.base_lots.unsigned_abs();
        market.adl_bankruptcy_price = bankruptcy_price.0;
        emit!(Bankruptcy {
            market: market_key,
            position: target_key,
            deficit,
            paid_by_insurance,
            left_for_adl: deficit - paid_by_insurance,
            bankruptcy_price: bankruptcy_price.0,
            lots: market.adl_lots,
        });
        emit!(AdlStarted {
            market: market_key,
            bankrupt: target_key,
            lots: market.adl_lots,
            bankruptcy_price: bankruptcy_price.0,
        });
    } else {
        let lots = plan.lots.0 as i64;
        target.apply_fill(&mut market, SignedLots(-side_sign * lots), plan.price)?;
        liquidator.apply_fill(&mut market, SignedLots(side_sign * lots), plan.price)?;
        insurance_fee = to_u64(plan.insurance_fee)?;
        target.charge_fee(plan.insurance_fee)?;
        // The vault's payment brings a bankrupt position's collateral back to exactly zero.
        target.collateral = target
            .collateral
            .checked_add(paid_by_insurance as i64)
            .ok_or(PerpsError::MathOverflow)?;
        require_eq!(
            market.open_interest_long,
            market.open_interest_short,
            PerpsError::OpenInterestImbalance
        );
        let liquidator_health = liquidator
            .state()
            .health(
                oracle_price,
                &tiers,
                market.initial_margin_factor(oracle_price)?,
            )
            .map_err(PerpsError::from)?;
        require!(
            liquidator_health.meets_initial(),
            PerpsError::LiquidatorBelowInitialMargin
        );
        let improvement = oracle_price.0.abs_diff(plan.price.0) as u128 * plan.lots.0 as u128;
        emit!(Liquidation {
            market: market_key,
            position: target_key,
            liquidator: ctx.accounts.liquidator_position.key(),
            lots: plan.lots.0,
            price: plan.price.0,
            oracle_price: oracle_price.0,
            liquidator_fee: u64::try_from(improvement).map_err(|_| PerpsError::MathOverflow)?,
            insurance_fee,
            full: plan.full,
        });
        if deficit > 0 {
            emit!(Bankruptcy {
                market: market_key,
                position: target_key,
                deficit,
                paid_by_insurance,
                left_for_adl: 0,
                bankruptcy_price: 0,
                lots: 0,
            });
        }
    }

    let signer = market.signer();
    drop(target);
    drop(liquidator);
    drop(market);
    let market_info = ctx.accounts.market.to_account_info();
    if paid_by_insurance > 0 {
        vault::transfer_out(
            &ctx.accounts.token_program,
            &ctx.accounts.insurance_vault,
            &ctx.accounts.collateral_vault,
            market_info.clone(),
            &signer,
            paid_by_insurance,
        )?;
    }
    if insurance_fee > 0 {
        vault::transfer_out(
            &ctx.accounts.token_program,
            &ctx.accounts.collateral_vault,
            &ctx.accounts.insurance_vault,
            market_info,
            &signer,
            insurance_fee,
        )?;
    }
    Ok(())
}

fn to_u64(amount: SignedQuote) -> Result<u64> {
    u64::try_from(amount.0).map_err(|_| error!(PerpsError::MathOverflow))
}
