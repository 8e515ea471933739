use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perps_engine::{
    adl::{adl_eligibility, adl_order, adl_score, plan_adl, AdlEligibility, AdlFill, AdlScore},
    BaseLots, OracleUse, PositionSide, PositionState, Price, SignedLots, SignedQuote,
};

use crate::{
    emit_present,
    error::{EngineResultExt, PerpsError},
    events::{AdlCompleted, AdlFilled, OrderCancelled},
    oracle,
    state::{CancelReason, Market, OrderBook, Position, PositionAccounts, RemainingPositions},
    vault::{self, Payout},
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

/// Permissionless (DESIGN.md §8): closes the pending bankrupt position's lots against the
/// supplied candidates at its bankruptcy price, with no fee, strictly in the engine's ranking.
/// Candidates must be of this market, on the other side, profitable at the oracle and not
/// liquidatable. Progress may take several transactions; when the bankrupt position reaches zero
/// lots its equity is exactly zero (the dust goes to insurance) and the market leaves ADL.
pub fn handler<'info>(ctx: Context<'info, Adl<'info>>) -> Result<()> {
    let accounts = &ctx.accounts;
    let market_key = accounts.market.key();
    let mut market = accounts.market.load_mut()?;
    require!(market.is_adl_pending(), PerpsError::NoAdlPending);
    require_keys_eq!(
        accounts.bankrupt.key(),
        market.adl_position,
        PerpsError::WrongAdlPosition
    );
    let candidate_keys: Vec<Pubkey> = ctx.remaining_accounts.iter().map(|a| *a.key).collect();
    let market_params_floor = market.params.insurance_floor;
    let mut bankrupt = accounts.bankrupt.load_mut()?;
    let mut book = accounts.order_book.load_mut()?;
    let outcome = adl_action(
        AdlAccounts {
            market: &mut market,
            market_key,
            book: &mut book,
            bankrupt: &mut bankrupt,
            bankrupt_key: accounts.bankrupt.key(),
        },
        accounts
            .insurance_vault
            .amount
            .saturating_sub(market_params_floor),
        &candidate_keys,
        &mut RemainingPositions(ctx.remaining_accounts),
        Clock::get()?.unix_timestamp,
        |market| {
            oracle::observe_price(
                market,
                &market_key,
                &accounts.oracle,
                OracleUse::Liquidation,
            )
        },
    )?;
    for event in outcome.events {
        match event {
            AdlEvent::Filled(filled) => emit!(filled),
            AdlEvent::Cancelled(cancelled) => emit!(cancelled),
        }
    }
    emit_present!(outcome.completed);
    vault::release_then_pay_out(
        market,
        (bankrupt, book),
        &accounts.token_program,
        accounts.market.to_account_info(),
        &[
            Payout {
                from: &accounts.insurance_vault,
                to: &accounts.collateral_vault,
                amount: outcome.from_insurance,
            },
            Payout {
                from: &accounts.collateral_vault,
                to: &accounts.insurance_vault,
                amount: outcome.to_insurance,
            },
        ],
    )
}

/// The loaded accounts an ADL step works on (the candidates come apart).
pub struct AdlAccounts<'a> {
    pub market: &'a mut Market,
    pub market_key: Pubkey,
    pub book: &'a mut OrderBook,
    pub bankrupt: &'a mut Position,
    pub bankrupt_key: Pubkey,
}

/// An event of an ADL step, in the order emitted.
pub enum AdlEvent {
    Filled(AdlFilled),
    Cancelled(OrderCancelled),
}

/// What an ADL step did.
pub struct AdlOutcome {
    pub events: Vec<AdlEvent>,
    /// Set when the market left ADL.
    pub completed: Option<AdlCompleted>,
    /// From the insurance vault into the collateral vault: what the vault holds above its floor,
    /// paid in before any candidate is haircut.
    pub from_insurance: u64,
    /// From the collateral vault to the insurance vault: the closed position's last atoms, or
    /// the subsidy given back by a position that left the queue solvent.
    pub to_insurance: u64,
}

/// A supplied candidate, checked and scored.
struct Candidate {
    key: Pubkey,
    score: AdlScore,
    state: PositionState,
}

/// One ADL step, in an Active or ReduceOnly market only (a Paused or Settled one refuses it with
/// `MarketPaused` or `MarketSettled`, DESIGN.md §8): the bankrupt position leaves the queue if it
/// is solvent again at the observed price, or once the vault's `insurance_available` (its balance
/// above the floor) covers it; otherwise every candidate named in `candidate_keys` (1 to
/// `MAX_ADL_CANDIDATES`,
/// distinct, loaded from `positions`) is checked with the engine's `adl_eligibility`, ranked with
/// `adl_order`, and the engine's plan closes the bankrupt lots against them at the bankruptcy
/// price; the book's funding premium is sampled at `now` (candidates may have lost their orders).
pub fn adl_action(
    accounts: AdlAccounts,
    insurance_available: u64,
    candidate_keys: &[Pubkey],
    positions: &mut impl PositionAccounts,
    now: i64,
    observe_price: impl FnOnce(&mut Market) -> Result<Price>,
) -> Result<AdlOutcome> {
    let AdlAccounts {
        market,
        market_key,
        book,
        bankrupt,
        bankrupt_key,
    } = accounts;
    market.require_open()?;
    let oracle_price = observe_price(market)?;
    let tiers = market.params.margin_tiers()?;
    bankrupt.settle_funding(market)?;
    let mut outcome = AdlOutcome {
        events: Vec::new(),
        completed: None,
        from_insurance: 0,
        to_insurance: 0,
    };
    // A deposit or a price recovery may have made the position solvent again: it leaves the queue
    // and ordinary liquidation takes over. What others put in goes to the vault, up to its
    // equity: the vault pays only losses that are real (DESIGN.md §7).
    let equity = bankrupt.state().equity(oracle_price).map_engine_err()?.0;
    if equity >= 0 {
        let returned = market
            .adl_subsidy
            .min(u64::try_from(equity).unwrap_or(u64::MAX));
        bankrupt.charge_fee(SignedQuote(returned as i128))?;
        outcome.to_insurance = returned;
        outcome.completed = Some(market.leave_adl(market_key, bankrupt_key, 0, returned));
        return Ok(outcome);
    }
    // The vault pays before candidates do: what reached it since the queueing (fees, funding
    // residue) goes in first. If that covers the loss, the position leaves the queue at zero
    // equity for ordinary liquidation.
    let top_up = insurance_available.min(u64::try_from(-equity).unwrap_or(u64::MAX));
    if top_up > 0 {
        bankrupt.add_collateral(top_up)?;
        market.adl_subsidy = market.adl_subsidy.saturating_add(top_up);
        outcome.from_insurance = top_up;
        if top_up as i128 == -equity {
            outcome.completed = Some(market.leave_adl(market_key, bankrupt_key, 0, 0));
            return Ok(outcome);
        }
    }
    let bankrupt_side = bankrupt.state().side().ok_or(PerpsError::FlatPosition)?;
    // The lots to close are the position's own: it can neither trade nor liquidate while queued.
    market.adl_lots = bankrupt.base_lots.unsigned_abs();
    // Funding since the bankruptcy moves the price at which the position's equity is zero
    // (negative for a short that has lost more than its collateral and all it sold for).
    let bankruptcy_price = bankrupt
        .state()
        .signed_bankruptcy_price()
        .map_engine_err()?;
    market.adl_bankruptcy_price =
        i64::try_from(bankruptcy_price.0).map_err(|_| PerpsError::MathOverflow)?;

    require!(
        !candidate_keys.is_empty() && candidate_keys.len() <= MAX_ADL_CANDIDATES,
        PerpsError::InvalidAdlCandidates
    );
    // Bounded by MAX_ADL_CANDIDATES: a few kilobytes of heap rather than of a 4 KB stack frame.
    let mut ranked: Vec<Candidate> = Vec::with_capacity(candidate_keys.len());
    for (i, key) in candidate_keys.iter().enumerate() {
        require!(
            !candidate_keys[..i].contains(key),
            PerpsError::InvalidAdlCandidates
        );
        let state = positions
            .with_position(key, |position| {
                require_keys_eq!(position.market, market_key, PerpsError::WrongMarket);
                position.settle_funding(market)?;
                Ok(position.state())
            })?
            .ok_or(PerpsError::InvalidAdlCandidates)?;
        match adl_eligibility(&state, bankrupt_side, oracle_price, &tiers).map_engine_err()? {
            AdlEligibility::Eligible => {}
            AdlEligibility::NotOtherSide => return err!(PerpsError::AdlCandidateSameSide),
            AdlEligibility::NotProfitable => return err!(PerpsError::AdlCandidateNotProfitable),
            AdlEligibility::Liquidatable => return err!(PerpsError::AdlCandidateLiquidatable),
        }
        ranked.push(Candidate {
            key: *key,
            score: adl_score(&state, oracle_price).map_engine_err()?,
            state,
        });
    }
    ranked.sort_unstable_by(|a, b| {
        adl_order((&a.score, &a.key.to_bytes()), (&b.score, &b.key.to_bytes()))
    });
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
    .map_engine_err()?;

    let close_sign: i64 = match bankrupt_side {
        PositionSide::Long => -1,
        PositionSide::Short => 1,
    };
    for fill in &fills[..count] {
        let candidate = &ranked[fill.index];
        let lots = fill.lots.0 as i64;
        bankrupt.apply_fill(market, SignedLots(close_sign * lots), bankruptcy_price)?;
        market.adl_lots -= fill.lots.0;
        // The candidate gives up `|Pb − P|` a lot against closing at the oracle.
        let haircut = bankruptcy_price
            .0
            .abs_diff(oracle_price.0 as i128)
            .saturating_mul(fill.lots.0 as u128);
        market.adl_subsidy = market
            .adl_subsidy
            .saturating_add(u64::try_from(haircut).unwrap_or(u64::MAX));
        outcome.events.push(AdlEvent::Filled(AdlFilled {
            market: market_key,
            bankrupt: bankrupt_key,
            candidate: candidate.key,
            lots: fill.lots.0,
            price: market.adl_bankruptcy_price,
            score_num: candidate.score.num,
            score_den: candidate.score.den,
            rank: fill.index as u32 + 1,
        }));
        let cancelled = positions
            .with_position(&candidate.key, |position| {
                position.apply_fill(market, SignedLots(-close_sign * lots), bankruptcy_price)?;
                // A deleveraged position whose margin no longer covers its resting orders loses
                // them.
                let health = position
                    .state()
                    .health(
                        oracle_price,
                        &tiers,
                        market.initial_margin_factor(oracle_price)?,
                    )
                    .map_engine_err()?;
                if position.has_open_orders() && !health.meets_initial() {
                    return Ok(Some(book.cancel_all_of(&candidate.key, position)?));
                }
                Ok(None)
            })?
            .ok_or(PerpsError::InvalidAdlCandidates)?;
        if let Some(cancelled) = cancelled {
            outcome.events.push(AdlEvent::Cancelled(OrderCancelled {
                market: market_key,
                position: candidate.key,
                order_id: 0,
                lots: cancelled.bid_lots.0 + cancelled.ask_lots.0,
                reason: CancelReason::ByAdl,
            }));
        }
    }
    require_eq!(
        market.open_interest_long,
        market.open_interest_short,
        PerpsError::OpenInterestImbalance
    );
    market.sample_funding_premium(&book.book, oracle_price, now)?;
    if market.adl_lots == 0 {
        require_eq!(bankrupt.base_lots, 0, PerpsError::OpenInterestImbalance);
        // Closed at its bankruptcy price, the position keeps less than one atom a lot: to insurance.
        outcome.to_insurance =
            u64::try_from(bankrupt.collateral).map_err(|_| PerpsError::MathOverflow)?;
        bankrupt.collateral = 0;
        outcome.completed =
            Some(market.leave_adl(market_key, bankrupt_key, outcome.to_insurance, 0));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Positions, USDC};

    /// A long of 100 lots from 60 queued for ADL with 70 USDC and one atom (bankruptcy price
    /// 59.30 after rounding up), and two profitable shorts at an oracle of 59: A, 60 lots from
    /// 61 with 100 USDC, and B, 40 lots from 60 with 50 USDC.
    struct Fixture {
        market: Box<Market>,
        book: Box<OrderBook>,
        bankrupt: Position,
        shorts: Positions,
    }

    fn fixture() -> Fixture {
        let key = Pubkey::new_unique();
        let mut market = testing::market();
        market.open_interest_long = 100;
        market.open_interest_short = 100;
        market.adl_pending = 1;
        market.adl_lots = 100;
        let a = testing::position(key, 100 * USDC as i64, -60, 61 * USDC as i64);
        let b = testing::position(key, 50 * USDC as i64, -40, 60 * USDC as i64);
        Fixture {
            market,
            book: testing::order_book(key),
            bankrupt: testing::position(key, 70 * USDC as i64 + 1, 100, 60 * USDC as i64),
            // B first: the program ranks, whatever order the keeper supplies.
            shorts: Positions(vec![(Pubkey::new_unique(), b), (Pubkey::new_unique(), a)]),
        }
    }

    impl Fixture {
        fn adl(&mut self, oracle: u64) -> Result<AdlOutcome> {
            self.adl_with_insurance(oracle, 0)
        }

        fn adl_with_insurance(&mut self, oracle: u64, insurance: u64) -> Result<AdlOutcome> {
            let market_key = self.bankrupt.market;
            let keys: Vec<Pubkey> = self.shorts.0.iter().map(|(key, _)| *key).collect();
            adl_action(
                AdlAccounts {
                    market: &mut self.market,
                    market_key,
                    book: &mut self.book,
                    bankrupt: &mut self.bankrupt,
                    bankrupt_key: Pubkey::new_unique(),
                },
                insurance,
                &keys,
                &mut self.shorts,
                0,
                |_| Ok(Price(oracle)),
            )
        }
    }

    #[test]
    fn worked_adl_closes_the_bankrupt_long_against_the_shorts_in_rank_order() {
        let mut f = fixture();
        let outcome = f.adl(59 * USDC).unwrap();
        let fills: Vec<(u64, i64, u32)> = outcome
            .events
            .iter()
            .map(|event| match event {
                AdlEvent::Filled(fill) => (fill.lots, fill.price, fill.rank),
                AdlEvent::Cancelled(_) => panic!("no candidate had orders"),
            })
            .collect();
        // A scores (120 / 3,660) · (3,540 / 220) = 0.528, B (40 / 2,400) · (2,360 / 90) = 0.437.
        assert_eq!(fills, vec![(60, 59_300_000, 1), (40, 59_300_000, 2)]);
        let (b, a) = (&f.shorts.0[0].1, &f.shorts.0[1].1);
        // Closed at 59.30 instead of 59: A keeps 60 · 1.70 of its 120 of profit, B 40 · 0.70.
        assert_eq!((a.base_lots, a.collateral), (0, 202 * USDC as i64));
        assert_eq!((b.base_lots, b.collateral), (0, 78 * USDC as i64));
        assert_eq!(outcome.to_insurance, 1);
        assert_eq!((f.bankrupt.base_lots, f.bankrupt.collateral), (0, 0));
        assert!(!f.market.is_adl_pending() && outcome.completed.is_some());
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 0)
        );
    }

    #[test]
    fn a_bankrupt_position_solvent_again_leaves_the_queue_and_returns_the_vaults_money() {
        // The vault had put 30 USDC in; at 59.90 the position's equity is 60 USDC and an atom.
        let mut f = fixture();
        f.market.adl_subsidy = 30 * USDC;
        let outcome = f.adl(59_900_000).unwrap();
        assert!(outcome.events.is_empty());
        assert_eq!(outcome.completed.unwrap().insurance_returned, 30 * USDC);
        assert_eq!(outcome.to_insurance, 30 * USDC);
        assert_eq!(f.bankrupt.collateral, 40 * USDC as i64 + 1);
        assert!(!f.market.is_adl_pending() && f.market.adl_subsidy == 0);
        assert_eq!(f.bankrupt.base_lots, 100);
        // Only up to its equity: at 59.30 it has one atom, and that is all it gives back.
        let mut f = fixture();
        f.market.adl_subsidy = 30 * USDC;
        let outcome = f.adl(59_300_000).unwrap();
        assert_eq!(
            (outcome.to_insurance, f.bankrupt.collateral),
            (1, 70 * USDC as i64)
        );
    }

    #[test]
    fn a_short_that_lost_more_than_it_sold_for_is_closed_at_a_negative_bankruptcy_price() {
        // Queued: 100 lots short from 60 with C = −7,098.20 (bankruptcy price −10.982); a long
        // of 100 from 60 with 27,197 USDC, profitable at 61, gives its lots up and pays 10.982 a
        // lot on top: 7,198.20 of haircut, the deficit at the oracle to the atom.
        let key = Pubkey::new_unique();
        let mut f = fixture();
        f.bankrupt = testing::position(key, -7_098_200_000, -100, 60 * USDC as i64);
        let long = testing::position(key, 27_197 * USDC as i64, 100, 60 * USDC as i64);
        f.shorts = Positions(vec![(Pubkey::new_unique(), long)]);
        let outcome = f.adl(61 * USDC).unwrap();
        assert!(matches!(
            &outcome.events[..],
            [AdlEvent::Filled(fill)] if fill.lots == 100 && fill.price == -10_982_000
        ));
        assert_eq!(
            (f.shorts.0[0].1.base_lots, f.shorts.0[0].1.collateral),
            (0, 20_098_800_000)
        );
        assert_eq!((f.bankrupt.base_lots, f.bankrupt.collateral), (0, 0));
        assert!(!f.market.is_adl_pending() && outcome.completed.is_some());
        assert_eq!(
            (f.market.open_interest_long, f.market.open_interest_short),
            (0, 0)
        );
    }

    #[test]
    fn refuses_to_run_while_paused_or_after_settlement_and_changes_nothing() {
        use crate::state::MarketStatus;
        for (status, error) in [
            (MarketStatus::Paused, PerpsError::MarketPaused),
            (MarketStatus::Settled, PerpsError::MarketSettled),
        ] {
            let mut f = fixture();
            f.market.status = status as u8;
            assert_eq!(f.adl(59 * USDC).err().unwrap(), error.into());
            assert!(f.market.is_adl_pending());
            assert_eq!((f.bankrupt.base_lots, f.market.adl_lots), (100, 100));
            assert!(f.shorts.0.iter().all(|(_, short)| short.base_lots != 0));
        }
        // ReduceOnly (a tripped breaker, or the admin) runs it, like Active.
        let mut f = fixture();
        f.market.status = MarketStatus::ReduceOnly as u8;
        assert!(f.adl(59 * USDC).unwrap().completed.is_some());
    }

    #[test]
    fn refuses_a_candidate_on_the_same_side_unprofitable_liquidatable_or_of_another_market() {
        let cases: [(fn(&mut Position), PerpsError); 4] = [
            (|p| p.base_lots = 40, PerpsError::AdlCandidateSameSide),
            (
                |p| p.cost_basis = -40 * 59 * USDC as i64,
                PerpsError::AdlCandidateNotProfitable,
            ),
            (
                |p| p.collateral = -39 * USDC as i64,
                PerpsError::AdlCandidateLiquidatable,
            ),
            (|p| p.market = Pubkey::new_unique(), PerpsError::WrongMarket),
        ];
        for (spoil, error) in cases {
            let mut f = fixture();
            spoil(&mut f.shorts.0[0].1);
            assert_eq!(f.adl(59 * USDC).err().unwrap(), error.into());
        }
    }

    #[test]
    fn the_vault_pays_what_it_holds_before_any_candidate_is_haircut() {
        // At 59 the queued long lacks 29.999999 USDC. The vault has received 10 since it was
        // queued: it pays them in first, the bankruptcy price falls to 59.20, and the shorts
        // give up 0.20 a lot instead of 0.30.
        let mut f = fixture();
        let outcome = f.adl_with_insurance(59 * USDC, 10 * USDC).unwrap();
        assert_eq!(outcome.from_insurance, 10 * USDC);
        assert!(outcome.events.iter().all(|event| matches!(
            event,
            AdlEvent::Filled(fill) if fill.price == 59_200_000
        )));
        assert_eq!(f.shorts.0[1].1.collateral, 208 * USDC as i64);
        assert_eq!((outcome.to_insurance, f.bankrupt.collateral), (1, 0));
        // A vault that holds the whole loss covers it: no candidate is touched, and the position,
        // now at zero equity, leaves the queue for ordinary liquidation.
        let mut f = fixture();
        let outcome = f.adl_with_insurance(59 * USDC, 100 * USDC).unwrap();
        assert_eq!(outcome.from_insurance, 29_999_999);
        assert!(outcome.events.is_empty() && outcome.completed.is_some());
        assert_eq!(
            (f.bankrupt.base_lots, f.shorts.0[0].1.base_lots),
            (100, -40)
        );
        assert!(!f.market.is_adl_pending());
    }

    #[test]
    fn a_partly_deleveraged_position_that_recovers_gives_the_haircuts_to_the_vault() {
        // Only B is supplied: it closes 40 lots at 59.30, giving up 40 · 0.30 = 12 USDC against
        // the oracle. The price then recovers to 60: the long, solvent again with 42 USDC and an
        // atom of equity, leaves the queue and the 12 USDC go to the vault, not to its owner.
        let mut f = fixture();
        f.shorts.0.truncate(1);
        f.adl(59 * USDC).unwrap();
        assert_eq!(
            (f.bankrupt.base_lots, f.market.adl_subsidy),
            (60, 12 * USDC)
        );
        let outcome = f.adl(60 * USDC).unwrap();
        assert_eq!(outcome.completed.unwrap().insurance_returned, 12 * USDC);
        assert_eq!(outcome.to_insurance, 12 * USDC);
        assert_eq!(f.bankrupt.collateral, 30 * USDC as i64 + 1);
        assert!(!f.market.is_adl_pending() && f.market.adl_subsidy == 0);
    }
}
