use anchor_lang::{prelude::*, solana_program::bpf_loader_upgradeable};
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::{
    error::PerpsError,
    events::{Emitter, ExchangeInitialized},
    state::{Exchange, ExchangeBounds, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    /// The program's upgrade authority, who becomes the first admin: a deploy cannot be
    /// front-run by whoever calls first.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The program's data account under the upgradeable loader, which names its upgrade authority.
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key())
            @ PerpsError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(init, payer = admin, space = 8 + Exchange::INIT_SPACE, seeds = [EXCHANGE_SEED], bump)]
    pub exchange: Box<Account<'info, Exchange>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    #[account(constraint = treasury.mint == collateral_mint.key() @ PerpsError::InvalidTreasury)]
    pub treasury: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Creates the singleton exchange with its bounds, collateral mint and treasury; only the
/// program's upgrade authority may, and it becomes the admin.
pub fn handler(ctx: Context<InitializeExchange>, bounds: ExchangeBounds) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    bounds.validate()?;
    let accounts = &mut *ctx.accounts;
    accounts.exchange.set_inner(Exchange {
        admin: accounts.admin.key(),
        collateral_mint: accounts.collateral_mint.key(),
        treasury: accounts.treasury.key(),
        bounds,
        market_count: 0,
        collateral_decimals: accounts.collateral_mint.decimals,
        bump: ctx.bumps.exchange,
        pending_admin: Pubkey::default(),
        paused: false,
        version: Exchange::VERSION,
        _reserved: [0; 128],
    });
    emitter.emit(&ExchangeInitialized {
        admin: accounts.admin.key(),
        collateral_mint: accounts.collateral_mint.key(),
        treasury: accounts.treasury.key(),
    })?;
    emitter.flush()
}
