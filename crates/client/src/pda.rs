//! Program-derived addresses, with the seeds DESIGN.md §4 names.
//!
//! `Pdas` derives them under any deployment of the program (a fork, a localnet deploy under
//! another id); the free functions are the same derivations under `perps::ID`.

use anchor_lang::prelude::Pubkey;
use perps::state::{
    COLLATERAL_VAULT_SEED, EXCHANGE_SEED, INSURANCE_VAULT_SEED, MARKET_SEED, POSITION_SEED,
    PRICE_FEED_SEED,
};

/// The PDAs of the program deployed at `self.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdas(pub Pubkey);

impl Pdas {
    /// The program as built (`perps::ID`).
    pub const PERPS: Pdas = Pdas(perps::ID);

    fn find(&self, seeds: &[&[u8]]) -> Pubkey {
        Pubkey::find_program_address(seeds, &self.0).0
    }

    /// The program's data account under the upgradeable loader (it names the upgrade
    /// authority, whom `initialize_exchange` requires).
    pub fn program_data(&self) -> Pubkey {
        anchor_lang::solana_program::bpf_loader_upgradeable::get_program_data_address(&self.0)
    }

    /// The program's event authority: the signer of its self-CPI events (Anchor's event-cpi).
    pub fn event_authority(&self) -> Pubkey {
        self.find(&[b"__event_authority"])
    }

    pub fn exchange(&self) -> Pubkey {
        self.find(&[EXCHANGE_SEED])
    }

    pub fn market(&self, index: u16) -> Pubkey {
        self.find(&[MARKET_SEED, &index.to_le_bytes()])
    }

    pub fn collateral_vault(&self, market: &Pubkey) -> Pubkey {
        self.find(&[COLLATERAL_VAULT_SEED, market.as_ref()])
    }

    pub fn insurance_vault(&self, market: &Pubkey) -> Pubkey {
        self.find(&[INSURANCE_VAULT_SEED, market.as_ref()])
    }

    pub fn position(&self, market: &Pubkey, owner: &Pubkey) -> Pubkey {
        self.find(&[POSITION_SEED, market.as_ref(), owner.as_ref()])
    }

    pub fn price_feed(&self, market: &Pubkey) -> Pubkey {
        self.find(&[PRICE_FEED_SEED, market.as_ref()])
    }
}

pub fn program_data() -> Pubkey {
    Pdas::PERPS.program_data()
}

pub fn event_authority() -> Pubkey {
    Pdas::PERPS.event_authority()
}

pub fn exchange() -> Pubkey {
    Pdas::PERPS.exchange()
}

pub fn market(index: u16) -> Pubkey {
    Pdas::PERPS.market(index)
}

pub fn collateral_vault(market: &Pubkey) -> Pubkey {
    Pdas::PERPS.collateral_vault(market)
}

pub fn insurance_vault(market: &Pubkey) -> Pubkey {
    Pdas::PERPS.insurance_vault(market)
}

pub fn position(market: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pdas::PERPS.position(market, owner)
}

pub fn price_feed(market: &Pubkey) -> Pubkey {
    Pdas::PERPS.price_feed(market)
}
