use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, PositionOpened},
    state::{
        Exchange, Market, MarketStatus, Position, PositionRegistry, Registry, EXCHANGE_SEED,
        POSITION_SEED,
    },
};

#[event_cpi]
#[derive(Accounts)]
pub struct OpenPosition<'info> {
    #[account(
        seeds = [EXCHANGE_SEED],
        bump = exchange.bump,
        constraint = !exchange.paused @ PerpsError::ExchangePaused,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut)]
    pub owner: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    /// The market's registry, which lists every position (DESIGN.md §8).
    #[account(mut, address = market.load()?.position_registry @ PerpsError::WrongRegistry)]
    pub registry: AccountLoader<'info, PositionRegistry>,
    #[account(
        init,
        payer = owner,
        space = 8 + std::mem::size_of::<Position>(),
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump
    )]
    pub position: AccountLoader<'info, Position>,
    pub system_program: Program<'info, System>,
}

/// Opens the owner's position in a market and registers it, so that every ADL sweep ranks it.
/// Refused when the registry is full (`RegistryFull`) or the market settled.
pub fn handler(ctx: Context<OpenPosition>) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let market = ctx.accounts.market.load()?;
    require!(
        market.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    let mut registry = Registry::load_mut(ctx.accounts.registry.as_ref())?;
    let Registry { header, slots } = &mut registry;
    let key = ctx.accounts.position.key();
    let slot = if market.is_adl_pending() {
        let was_ranked = header.sweep == market.adl_sweep && header.is_ranked();
        let slot = header.add_during_adl(slots, key, &market)?;
        // Its slot may have been the sweep's last one left to rank.
        if !was_ranked && header.is_ranked() {
            emitter.emit(&header.ranking_completed(ctx.accounts.market.key()))?;
        }
        slot
    } else {
        header.add(slots, key)?
    };
    let mut position = ctx.accounts.position.load_init()?;
    position.market = ctx.accounts.market.key();
    position.owner = ctx.accounts.owner.key();
    position.bump = ctx.bumps.position;
    position.version = Position::VERSION;
    position.registry_slot = slot;
    emitter.emit(&PositionOpened {
        market: position.market,
        owner: position.owner,
        position: ctx.accounts.position.key(),
    })?;
    emitter.flush()
}
