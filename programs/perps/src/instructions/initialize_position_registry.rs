use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, PositionRegistryInitialized},
    state::{
        Exchange, Market, PositionRegistry, RegistrySlot, EXCHANGE_SEED, NO_SLOT,
        REGISTRY_HEADER_SIZE,
    },
};

#[event_cpi]
#[derive(Accounts)]
pub struct InitializePositionRegistry<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
    /// Created by the client (system `create_account`, owner this program, zeroed, rent-exempt)
    /// at `registry_account_size(capacity)`: its size fixes how many positions the market holds.
    #[account(zero)]
    pub registry: AccountLoader<'info, PositionRegistry>,
}

/// Adopts a client-created account as the market's position registry (DESIGN.md §8).
pub fn handler(ctx: Context<InitializePositionRegistry>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require_keys_eq!(
        market.position_registry,
        Pubkey::default(),
        PerpsError::RegistryAlreadySet
    );
    let capacity = capacity_of(ctx.accounts.registry.as_ref().data_len())?;
    let mut registry = ctx.accounts.registry.load_init()?;
    registry.market = ctx.accounts.market.key();
    registry.capacity = capacity;
    registry.free_head = NO_SLOT;
    registry.version = PositionRegistry::VERSION;
    market.position_registry = ctx.accounts.registry.key();
    Emitter::new(&ctx.accounts.event_authority)?.emit_now(&PositionRegistryInitialized {
        market: ctx.accounts.market.key(),
        registry: market.position_registry,
        capacity,
    })
}

/// The slots an account of `data_len` bytes holds: at least one, and no stray bytes.
fn capacity_of(data_len: usize) -> Result<u32> {
    let slot = std::mem::size_of::<RegistrySlot>();
    let slots = data_len.saturating_sub(REGISTRY_HEADER_SIZE);
    require!(
        data_len > REGISTRY_HEADER_SIZE && slots % slot == 0,
        PerpsError::InvalidRegistry
    );
    u32::try_from(slots / slot).map_err(|_| error!(PerpsError::InvalidRegistry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::registry_account_size;

    #[test]
    fn the_account_size_fixes_the_capacity_and_must_hold_whole_slots() {
        assert_eq!(capacity_of(registry_account_size(1_000)).unwrap(), 1_000);
        for bad in [REGISTRY_HEADER_SIZE, registry_account_size(3) + 1, 0] {
            assert_eq!(
                capacity_of(bad).unwrap_err(),
                PerpsError::InvalidRegistry.into()
            );
        }
    }
}
