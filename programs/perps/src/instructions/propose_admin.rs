use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{AdminProposed, Emitter},
    state::{Exchange, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
}

/// First step of an admin transfer: names the next admin, who must accept (`accept_admin`).
/// Proposing `Pubkey::default()` withdraws a proposal.
pub fn handler(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    ctx.accounts.exchange.pending_admin = proposed;
    emitter.emit(&AdminProposed {
        admin: ctx.accounts.admin.key(),
        proposed,
    })?;
    emitter.flush()
}
