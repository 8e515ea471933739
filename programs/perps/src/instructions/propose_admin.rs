use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::AdminProposed,
    state::{Exchange, EXCHANGE_SEED},
};

#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
}

/// First step of an admin transfer: names the next admin, who must accept (`accept_admin`).
/// Proposing `Pubkey::default()` withdraws a proposal.
pub fn handler(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
    ctx.accounts.exchange.pending_admin = proposed;
    emit!(AdminProposed {
        admin: ctx.accounts.admin.key(),
        proposed,
    });
    Ok(())
}
