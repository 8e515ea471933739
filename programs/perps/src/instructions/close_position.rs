use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, PositionClosed},
    state::{Position, PositionRegistry, Registry},
};

#[event_cpi]
#[derive(Accounts)]
pub struct ClosePosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, close = owner, has_one = owner @ PerpsError::Unauthorized)]
    pub position: AccountLoader<'info, Position>,
    /// The registry of the position's market: the position leaves it.
    #[account(
        mut,
        constraint = registry.load()?.market == position.load()?.market @ PerpsError::WrongRegistry,
    )]
    pub registry: AccountLoader<'info, PositionRegistry>,
}

/// Closes a flat, order-free, empty position, frees its registry slot and returns its rent to
/// the owner.
pub fn handler(ctx: Context<ClosePosition>) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let position = ctx.accounts.position.load()?;
    position.require_closable()?;
    let mut registry = Registry::load_mut(ctx.accounts.registry.as_ref())?;
    registry.header.remove(
        &mut registry.slots,
        position.registry_slot,
        &ctx.accounts.position.key(),
    )?;
    emitter.emit(&PositionClosed {
        market: position.market,
        owner: position.owner,
        position: ctx.accounts.position.key(),
    })?;
    emitter.flush()
}
