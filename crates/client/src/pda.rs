//! Program-derived addresses, with the seeds DESIGN.md §4 names.

use anchor_lang::prelude::Pubkey;
use perps::state::{
    COLLATERAL_VAULT_SEED, EXCHANGE_SEED, INSURANCE_VAULT_SEED, MARKET_SEED, POSITION_SEED,
    PRICE_FEED_SEED,
};

fn find(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &perps::ID).0
}

/// The program's data account under the upgradeable loader (it names the upgrade authority,
/// whom `initialize_exchange` requires).
pub fn program_data() -> Pubkey {
    anchor_lang::solana_program::bpf_loader_upgradeable::get_program_data_address(&perps::ID)
}

/// The program's event authority: the signer of its self-CPI events (Anchor's event-cpi).
pub fn event_authority() -> Pubkey {
    find(&[b"__event_authority"])
}

pub fn exchange() -> Pubkey {
    find(&[EXCHANGE_SEED])
}

pub fn market(index: u16) -> Pubkey {
    find(&[MARKET_SEED, &index.to_le_bytes()])
}

pub fn collateral_vault(market: &Pubkey) -> Pubkey {
    find(&[COLLATERAL_VAULT_SEED, market.as_ref()])
}

pub fn insurance_vault(market: &Pubkey) -> Pubkey {
    find(&[INSURANCE_VAULT_SEED, market.as_ref()])
}

pub fn position(market: &Pubkey, owner: &Pubkey) -> Pubkey {
    find(&[POSITION_SEED, market.as_ref(), owner.as_ref()])
}

pub fn price_feed(market: &Pubkey) -> Pubkey {
    find(&[PRICE_FEED_SEED, market.as_ref()])
}
