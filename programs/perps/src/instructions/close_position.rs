use anchor_lang::prelude::*;

use crate::{error::PerpsError, events::PositionClosed, state::Position};

#[derive(Accounts)]
pub struct ClosePosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, close = owner, has_one = owner @ PerpsError::Unauthorized)]
    pub position: AccountLoader<'info, Position>,
}

/// Closes a flat, order-free, empty position and returns its rent to the owner.
pub fn handler(ctx: Context<ClosePosition>) -> Result<()> {
    let position = ctx.accounts.position.load()?;
    position.require_closable()?;
    emit!(PositionClosed {
        market: position.market,
        owner: position.owner,
        position: ctx.accounts.position.key(),
    });
    Ok(())
}
