//! Decoding of the program's accounts from raw account data.

use anchor_lang::{prelude::Pubkey, AccountDeserialize, Discriminator};
use perps::state::{
    Exchange, Market, OrderBook, Position, PositionRegistry, PriceFeed, RegistrySlot,
    REGISTRY_HEADER_SIZE,
};

/// Why account data did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The data is shorter than the account type.
    TooShort,
    /// The first 8 bytes are not this account type's discriminator.
    WrongDiscriminator,
    /// Borsh decoding failed.
    Invalid(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort => write!(f, "account data too short"),
            Self::WrongDiscriminator => write!(f, "wrong account discriminator"),
            Self::Invalid(e) => write!(f, "invalid account data: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a zero-copy account: discriminator, then the `repr(C)` body.
fn decode_zero_copy<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> Result<T, DecodeError> {
    let disc = T::DISCRIMINATOR;
    let body = data
        .get(disc.len()..disc.len() + std::mem::size_of::<T>())
        .ok_or(DecodeError::TooShort)?;
    if &data[..disc.len()] != disc {
        return Err(DecodeError::WrongDiscriminator);
    }
    Ok(bytemuck::pod_read_unaligned(body))
}

/// Decodes a Borsh account through Anchor, which checks the discriminator.
fn decode_borsh<T: AccountDeserialize>(data: &[u8]) -> Result<T, DecodeError> {
    T::try_deserialize(&mut &data[..]).map_err(|e| DecodeError::Invalid(e.to_string()))
}

pub fn market(data: &[u8]) -> Result<Market, DecodeError> {
    decode_zero_copy(data)
}

pub fn position(data: &[u8]) -> Result<Position, DecodeError> {
    decode_zero_copy(data)
}

/// The order book, boxed: it is about 74 KB.
pub fn order_book(data: &[u8]) -> Result<Box<OrderBook>, DecodeError> {
    decode_zero_copy(data).map(Box::new)
}

/// A market's position registry: its header and its slots.
#[derive(Clone, Debug)]
pub struct Registry {
    pub header: Box<PositionRegistry>,
    pub slots: Vec<RegistrySlot>,
}

impl Registry {
    /// The registered positions with their slots, in slot order.
    pub fn positions(&self) -> impl Iterator<Item = (u32, Pubkey)> + '_ {
        self.slots[..self.header.high_water as usize]
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.position != Pubkey::default())
            .map(|(i, slot)| (i as u32, slot.position))
    }
}

pub fn registry(data: &[u8]) -> Result<Registry, DecodeError> {
    let header: PositionRegistry = decode_zero_copy(data)?;
    let slot_size = std::mem::size_of::<RegistrySlot>();
    let tail = data
        .get(REGISTRY_HEADER_SIZE..REGISTRY_HEADER_SIZE + header.capacity as usize * slot_size)
        .ok_or(DecodeError::TooShort)?;
    Ok(Registry {
        header: Box::new(header),
        slots: tail
            .chunks_exact(slot_size)
            .map(bytemuck::pod_read_unaligned)
            .collect(),
    })
}

pub fn exchange(data: &[u8]) -> Result<Exchange, DecodeError> {
    decode_borsh(data)
}

pub fn price_feed(data: &[u8]) -> Result<PriceFeed, DecodeError> {
    decode_borsh(data)
}

/// The amount an SPL token account holds (the program's vaults, a treasury).
pub fn token_amount(data: &[u8]) -> Result<u64, DecodeError> {
    let mut data = data;
    anchor_spl::token::TokenAccount::try_deserialize(&mut data)
        .map(|account| account.amount)
        .map_err(|e| DecodeError::Invalid(e.to_string()))
}
