use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    adl::{adl_order, adl_score, plan_adl, AdlFill, AdlScore},
    BaseLots, OracleUse, PositionState, RatePpm, Side, SignedLots,
};

use crate::{
    error::PerpsError,
    events::{AdlCompleted, AdlFilled, OrderCancelled},
    instructions::place_order::CANCEL_BY_ADL,
    oracle,
    state::{Market, OrderBook, Position},
    vault,
};

/// Candidates one `adl` instruction ranks (a transaction carries fewer: see the client).
pub const MAX_ADL_CANDIDATES: usize = 32;

#[derive(Accounts)]
pub struct Adl<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, address = market.load()?.order_book @ PerpsError::WrongOrderBook)]
    pub order_book: AccountLoader<'info, OrderBook>,
    /// The bankrupt position the market is deleveraging (checked against the market's record).
    #[account(mut)]
    pub bankrupt: AccountLoader<'info, Position>,
    /// CHECK: read through `oracle::observe_price`, which checks it is the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.load()?.collateral_vault @ PerpsError::WrongVault)]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.load()?.insurance_vault @ PerpsError::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining_accounts: candidate Positions (writable), in any order.
}

/// A supplied candidate, checked and scored.
struct Candidate {
    account: usize,
    key: [u8; 32],
    score: AdlScore,
    state: PositionState,
}

/// Permissionless (DESIGN.md §8): closes the pending bankrupt position's lots against the
/// supplied candidates at its bankruptcy price, with no fee, strictly in the engine's ranking.
/// Candidates must be of this market, on the other side, profitable at the oracle and not
/// liquidatable. Progress may take several transactions; when the bankrupt position reaches zero
/// lots its equity is exactly zero (the dust goes to insurance) and the market leaves ADL.
pub fn handler<'info>(ctx: Context<'info, Adl<'info>>) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let bankrupt_key = ctx.accounts.bankrupt.key();
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.is_adl_pending(), PerpsError::NoAdlPending);
    require_keys_eq!(
        bankrupt_key,
        market.adl_position,
        PerpsError::WrongAdlPosition
    );
    let oracle_price = oracle::observe_price(
        &mut market,
        &market_key,
        &ctx.accounts.oracle,
        OracleUse::Liquidation,
    )?;
    let tiers = market.params.margin_tiers()?;
    let mut bankrupt = ctx.accounts.bankrupt.load_mut()?;
    bankrupt.settle_funding(&mut market)?;
    // A deposit or a price recovery may have made the position solvent again: then it leaves the
    // queue and ordinary liquidation takes over.
    if bankrupt
        .state()
        .equity(oracle_price)
        .map_err(PerpsError::from)?
        .0
        >= 0
    {
        market.adl_pending = 0;
        market.adl_position = Pubkey::default();
        emit!(AdlCompleted {
            market: market_key,
            bankrupt: bankrupt_key,
            dust_to_insurance: 0,
        });
        return Ok(());
    }
    let bankrupt_side = bankrupt.state().side().ok_or(PerpsError::FlatPosition)?;
    // The lots to close are the position's own: it can neither trade nor liquidate while queued.
    market.adl_lots = bankrupt.base_lots.unsigned_abs();
    // Funding since the bankruptcy moves the price at which the position's equity is zero.
    let bankruptcy_price = bankrupt
        .state()
        .bankruptcy_price()
        .map_err(PerpsError::from)?;
    market.adl_bankruptcy_price = bankruptcy_price.0;

    let supplied = ctx.remaining_accounts;
    require!(
        !supplied.is_empty() && supplied.len() <= MAX_ADL_CANDIDATES,
        PerpsError::InvalidAdlCandidates
    );
    // Bounded by MAX_ADL_CANDIDATES: a few kilobytes of heap rather than of a 4 KB stack frame.
    let mut ranked: Vec<Candidate> = Vec::with_capacity(supplied.len());
    for (i, info) in supplied.iter().enumerate() {
        require!(
            supplied[..i].iter().all(|other| other.key != info.key),
            PerpsError::InvalidAdlCandidates
        );
        let loader = AccountLoader::<Position>::try_from(info)?;
        let mut position = loader.load_mut()?;
        require_keys_eq!(position.market, market_key, PerpsError::WrongMarket);
        position.settle_funding(&mut market)?;
        let state = position.state();
        require!(
            state.side().is_some_and(|s| s != bankrupt_side),
            PerpsError::AdlCandidateSameSide
        );
        require!(
            state
                .unrealized_pnl(oracle_price)
                .map_err(PerpsError::from)?
                .0
                > 0,
            PerpsError::AdlCandidateNotProfitable
        );
        require!(
            !state
                .health(oracle_price, &tiers, RatePpm::ONE)
                .map_err(PerpsError::from)?
                .is_liquidatable(),
            PerpsError::AdlCandidateLiquidatable
        );
        ranked.push(Candidate {
            account: i,
            key: info.key.to_bytes(),
            score: adl_score(&state, oracle_price).map_err(PerpsError::from)?,
            state,
        });
    }
    ranked.sort_unstable_by(|a, b| adl_order((&a.score, &a.key), (&b.score, &b.key)));
    let states: Vec<PositionState> = ranked.iter().map(|c| c.state).collect();
    let mut fills = vec![AdlFill::default(); ranked.len()];
    let (count, _) = plan_adl(
        BaseLots(market.adl_lots),
        bankruptcy_price,
        oracle_price,
        &tiers,
        &states,
        &mut fills,
    )
    .map_err(PerpsError::from)?;

    let close_sign: i64 = match bankrupt_side {
        Side::Long => -1,
        Side::Short => 1,
    };
    let mut order_book = ctx.accounts.order_book.load_mut()?;
    for fill in &fills[..count] {
        let candidate = &ranked[fill.index];
        let info = &supplied[candidate.account];
        let loader = AccountLoader::<Position>::try_from(info)?;
        let mut position = loader.load_mut()?;
        let lots = fill.lots.0 as i64;
        bankrupt.apply_fill(&mut market, SignedLots(close_sign * lots), bankruptcy_price)?;
        position.apply_fill(
            &mut market,
            SignedLots(-close_sign * lots),
            bankruptcy_price,
        )?;
        market.adl_lots -= fill.lots.0;
        emit!(AdlFilled {
            market: market_key,
            bankrupt: bankrupt_key,
            candidate: *info.key,
            lots: fill.lots.0,
            price: bankruptcy_price.0,
            score_num: candidate.score.num,
            score_den: candidate.score.den,
            rank: fill.index as u32 + 1,
        });
        // A deleveraged position whose margin no longer covers its resting orders loses them.
        let health = position
            .state()
            .health(
                oracle_price,
                &tiers,
                market.initial_margin_factor(oracle_price)?,
            )
            .map_err(PerpsError::from)?;
        if position.has_open_orders() && !health.meets_initial() {
            let cancelled = order_book.cancel_all_of(info.key, &mut position)?;
            emit!(OrderCancelled {
                market: market_key,
                position: *info.key,
                order_id: 0,
                lots: cancelled.bid_lots.0 + cancelled.ask_lots.0,
                reason: CANCEL_BY_ADL,
            });
        }
    }
    require_eq!(
        market.open_interest_long,
        market.open_interest_short,
        PerpsError::OpenInterestImbalance
    );

    let mut dust = 0;
    if market.adl_lots == 0 {
        require_eq!(bankrupt.base_lots, 0, PerpsError::OpenInterestImbalance);
        // Closed at its bankruptcy price, the position keeps less than one atom a lot: to insurance.
        dust = u64::try_from(bankrupt.collateral).map_err(|_| PerpsError::MathOverflow)?;
        bankrupt.collateral = 0;
        market.adl_pending = 0;
        market.adl_position = Pubkey::default();
        emit!(AdlCompleted {
            market: market_key,
            bankrupt: bankrupt_key,
            dust_to_insurance: dust,
        });
    }
    let signer = market.signer();
    drop(order_book);
    drop(bankrupt);
    drop(market);
    if dust > 0 {
        vault::transfer_out(
            &ctx.accounts.token_program,
            &ctx.accounts.collateral_vault,
            &ctx.accounts.insurance_vault,
            ctx.accounts.market.to_account_info(),
            &signer,
            dust,
        )?;
    }
    Ok(())
}
