use anchor_lang::prelude::*;
use anchor_spl::token::TokenAccount;

use crate::{
    error::PerpsError,
    events::{Emitter, TreasuryChanged},
    state::{Exchange, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct SetTreasury<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    /// The new treasury: a token account of the exchange's collateral mint.
    #[account(constraint = treasury.mint == exchange.collateral_mint @ PerpsError::InvalidTreasury)]
    pub treasury: Box<Account<'info, TokenAccount>>,
}

/// Points the treasury's share of trading fees at another token account of the collateral mint.
pub fn handler(ctx: Context<SetTreasury>) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let exchange = &mut ctx.accounts.exchange;
    let old_treasury = exchange.treasury;
    exchange.treasury = ctx.accounts.treasury.key();
    emitter.emit(&TreasuryChanged {
        old_treasury,
        new_treasury: exchange.treasury,
    })?;
    emitter.flush()
}
