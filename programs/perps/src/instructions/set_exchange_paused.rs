use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, ExchangePauseSet},
    state::{Exchange, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct SetExchangePaused<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
}

/// Pauses or resumes every market at once. While paused, the program refuses every user
/// instruction (`ExchangePaused`) but cancels, withdrawals of idle positions and closing empty
/// accounts: trading, deposits, withdrawals with risk, liquidation, ADL, ranking and funding all
/// wait.
pub fn handler(ctx: Context<SetExchangePaused>, paused: bool) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    ctx.accounts.exchange.paused = paused;
    emitter.emit(&ExchangePauseSet { paused })?;
    emitter.flush()
}
