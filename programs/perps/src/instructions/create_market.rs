use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use bytemuck::Zeroable;

use crate::{
    error::PerpsError,
    events::{Emitter, MarketCreated},
    oracle,
    state::{
        Exchange, Market, MarketParams, MarketStatus, Position, COLLATERAL_VAULT_SEED,
        EXCHANGE_SEED, INSURANCE_VAULT_SEED, MARKET_SEED,
    },
};

#[event_cpi]
#[derive(Accounts)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        has_one = admin @ PerpsError::Unauthorized,
        has_one = collateral_mint @ PerpsError::InvalidMint,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(
        init,
        payer = admin,
        space = 8 + std::mem::size_of::<Market>(),
        seeds = [MARKET_SEED, &exchange.market_count.to_le_bytes()],
        bump
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(
        init,
        payer = admin,
        seeds = [COLLATERAL_VAULT_SEED, market.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = market,
        token::token_program = token_program,
    )]
    pub collateral_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [INSURANCE_VAULT_SEED, market.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = market,
        token::token_program = token_program,
    )]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    /// CHECK: validated by `oracle::load_reading` against the market's oracle source.
    pub oracle: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateMarket>, symbol: [u8; 16], params: MarketParams) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let accounts = &mut *ctx.accounts;
    params.validate(&accounts.exchange.bounds)?;
    let market_key = accounts.market.key();
    // The oracle names itself: the market stores whichever account passes the source's checks.
    oracle::load_reading(&params, accounts.oracle.key, &market_key, &accounts.oracle)?;

    let index = accounts.exchange.market_count;
    let now = Clock::get()?.unix_timestamp;
    let mut market = accounts.market.load_init()?;
    *market = Market {
        exchange: accounts.exchange.key(),
        oracle: accounts.oracle.key(),
        collateral_vault: accounts.collateral_vault.key(),
        insurance_vault: accounts.insurance_vault.key(),
        order_book: Pubkey::default(),
        params,
        open_interest_long: 0,
        open_interest_short: 0,
        settlement_price: 0,
        funding_index: 0,
        last_funding_time: now,
        last_funding_rate_ppm: 0,
        funding_residue: 0,
        oracle_ema: 0,
        last_oracle_time: 0,
        breaker_reference_price: 0,
        breaker_window_start: 0,
        breaker_until: 0,
        breaker_previous_reference: 0,
        funding_premium_ppm: 0,
        funding_sample_time: now,
        funding_premium_sum: 0,
        funding_sample_oracle: 0,
        position_registry: Pubkey::default(),
        adl_book: Position {
            market: market_key,
            owner: market_key,
            version: Position::VERSION,
            ..Zeroable::zeroed()
        },
        adl_snapshot_price: 0,
        adl_sweep: 0,
        adl_candidate_side: 0,
        _adl_padding: [0; 3],
        event_sequence: 0,
        symbol,
        index,
        status: MarketStatus::Active as u8,
        bump: ctx.bumps.market,
        collateral_vault_bump: ctx.bumps.collateral_vault,
        insurance_vault_bump: ctx.bumps.insurance_vault,
        quote_decimals: accounts.collateral_mint.decimals,
        version: Market::VERSION,
        _reserved: [0; 256],
    };
    accounts.exchange.market_count = index.checked_add(1).ok_or(PerpsError::MathOverflow)?;
    emitter.emit(&MarketCreated {
        market: market_key,
        index,
        symbol,
        oracle: accounts.oracle.key(),
    })?;
    emitter.flush()
}
