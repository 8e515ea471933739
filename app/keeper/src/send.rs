//! How the keeper prices, sizes and packs a transaction: the pure decisions of the sending layer
//! (the RPC backend applies them to every keeper action).

use anchor_lang::prelude::Pubkey;
use perps_client::instructions::MarketKeys;
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;
use solana_message::{v0, AddressLookupTableAccount, Hash, VersionedMessage};

/// The most compute units a transaction may ask for.
pub const MAX_COMPUTE_UNIT_LIMIT: u32 = 1_400_000;
/// Accounts one transaction may lock (agave 3.1).
pub const MAX_TRANSACTION_ACCOUNT_LOCKS: usize = 64;
/// A transaction's wire size limit (an IPv6 packet less its headers).
pub const PACKET_DATA_SIZE: usize = 1232;

/// Why a transaction could not be prepared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrepareError {
    #[error("lookup table {table}: not an address lookup table ({reason})")]
    NotALookupTable { table: Pubkey, reason: String },
    #[error("lookup table {table} lacks {missing} of the market's accounts (first: {first})")]
    LookupTableMismatch {
        table: Pubkey,
        missing: usize,
        first: Pubkey,
    },
    #[error("the transaction does not compile to a v0 message: {0}")]
    Compile(String),
    #[error("the transaction is {size} bytes, over the {PACKET_DATA_SIZE}-byte packet")]
    TooLarge { size: usize },
    #[error(
        "the transaction locks {locks} accounts, over the limit of {MAX_TRANSACTION_ACCOUNT_LOCKS}"
    )]
    TooManyAccounts { locks: usize },
}

/// What a market's lookup table holds: every account its keeper instructions name that is the
/// same for every position (the program id itself is invoked, so it stays in the message).
pub fn lookup_addresses(keys: &MarketKeys) -> Vec<Pubkey> {
    let pdas = keys.pdas();
    vec![
        pdas.event_authority(),
        pdas.exchange(),
        keys.market,
        keys.order_book,
        keys.registry,
        keys.oracle,
        pdas.collateral_vault(&keys.market),
        pdas.insurance_vault(&keys.market),
        keys.treasury,
        anchor_spl::token::ID,
    ]
}

/// The compute-unit price to pay: the `percentile` (0..=100, nearest rank) of the recent
/// prioritization fees over the accounts the transaction writes, at most `cap`.
pub fn priority_fee(mut recent: Vec<u64>, percentile: u8, cap: u64) -> u64 {
    if recent.is_empty() {
        return 0;
    }
    recent.sort_unstable();
    let rank = (recent.len() * percentile.min(100) as usize).div_ceil(100);
    recent[rank.saturating_sub(1)].min(cap)
}

/// The compute-unit limit for a transaction a simulation measured at `simulated` units: the
/// measure plus `margin_percent`, at most the runtime's maximum.
pub fn compute_unit_limit(simulated: u64, margin_percent: u32) -> u32 {
    let with_margin = simulated.saturating_mul(100 + margin_percent as u64) / 100;
    with_margin.min(MAX_COMPUTE_UNIT_LIMIT as u64) as u32
}

/// Every account a transaction of `instructions` paid by `payer` writes (the fee payer first):
/// what `getRecentPrioritizationFees` is asked about.
pub fn written_accounts(payer: &Pubkey, instructions: &[Instruction]) -> Vec<Pubkey> {
    let mut written = vec![*payer];
    for meta in instructions.iter().flat_map(|i| &i.accounts) {
        if meta.is_writable && !written.contains(&meta.pubkey) {
            written.push(meta.pubkey);
        }
    }
    written
}

/// The lookup table stored at `table` (account data `data`), checked to hold every one of
/// `expected`: a table given in the configuration must be the market's.
pub fn lookup_table(
    table: Pubkey,
    data: &[u8],
    expected: &[Pubkey],
) -> Result<AddressLookupTableAccount, PrepareError> {
    let decoded =
        AddressLookupTable::deserialize(data).map_err(|e| PrepareError::NotALookupTable {
            table,
            reason: e.to_string(),
        })?;
    let missing: Vec<&Pubkey> = expected
        .iter()
        .filter(|k| !decoded.addresses.contains(k))
        .collect();
    if let Some(first) = missing.first() {
        return Err(PrepareError::LookupTableMismatch {
            table,
            missing: missing.len(),
            first: **first,
        });
    }
    Ok(AddressLookupTableAccount {
        key: table,
        addresses: decoded.addresses.to_vec(),
    })
}

/// The v0 message of `instructions` behind a compute-unit limit and price, with every account
/// the `tables` hold looked up; refused when its signed transaction would not fit a packet or
/// would lock too many accounts.
pub fn v0_message(
    payer: &Pubkey,
    instructions: &[Instruction],
    compute_unit_limit: u32,
    compute_unit_price: u64,
    tables: &[AddressLookupTableAccount],
    blockhash: Hash,
) -> Result<VersionedMessage, PrepareError> {
    let mut all = vec![
        ComputeBudgetInstruction::set_compute_unit_limit(compute_unit_limit),
        ComputeBudgetInstruction::set_compute_unit_price(compute_unit_price),
    ];
    all.extend_from_slice(instructions);
    let message = v0::Message::try_compile(payer, &all, tables, blockhash)
        .map_err(|e| PrepareError::Compile(e.to_string()))?;
    let locks = message.account_keys.len()
        + message
            .address_table_lookups
            .iter()
            .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
            .sum::<usize>();
    if locks > MAX_TRANSACTION_ACCOUNT_LOCKS {
        return Err(PrepareError::TooManyAccounts { locks });
    }
    let message = VersionedMessage::V0(message);
    let size = signed_size(&message);
    if size > PACKET_DATA_SIZE {
        return Err(PrepareError::TooLarge { size });
    }
    Ok(message)
}

/// The wire size of `message` once signed: its signatures (a compact-u16 count, 64 bytes each)
/// and the serialized message.
pub fn signed_size(message: &VersionedMessage) -> usize {
    let signatures = message.header().num_required_signatures as usize;
    short_vec_len(signatures) + 64 * signatures + message.serialize().len()
}

fn short_vec_len(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

/// Makers one legacy taker-order transaction carries behind a compute-unit-price instruction
/// (measured by the program tests' `capacity::makers_per_place_order_transaction`).
pub const LEGACY_MAKERS_PER_TRANSACTION: usize = 21;

/// Ranking entries one `adl` transaction carries as v0 with the market's lookup table, behind
/// both compute-budget instructions (measured by the tests below on the wire format).
pub const V0_ADL_CANDIDATES_PER_TRANSACTION: usize = 28;
/// Makers one taker order carries the same way.
pub const V0_MAKERS_PER_TRANSACTION: usize = 26;

/// The index of the first instruction after the two compute-budget ones: a program error at or
/// past it is the keeper's instruction's.
pub const FIRST_KEEPER_INSTRUCTION: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use perps::instructions::PlaceOrderArgs;
    use perps::state::{OrderSide, OrderType};
    use perps_client::instructions as ix;

    fn keys() -> MarketKeys {
        MarketKeys {
            program_id: perps::ID,
            market: Pubkey::new_unique(),
            order_book: Pubkey::new_unique(),
            registry: Pubkey::new_unique(),
            oracle: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
        }
    }

    /// The most accounts `build` may carry in a v0 transaction behind both compute-budget
    /// instructions, with the market's lookup table, before it no longer fits.
    fn most_that_fit(
        payer: &Pubkey,
        build: impl Fn(&[Pubkey]) -> Instruction,
        keys: &MarketKeys,
    ) -> usize {
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: lookup_addresses(keys),
        };
        let extra: Vec<Pubkey> = (0..100).map(|_| Pubkey::new_unique()).collect();
        (0..=extra.len())
            .take_while(|n| {
                v0_message(
                    payer,
                    &[build(&extra[..*n])],
                    MAX_COMPUTE_UNIT_LIMIT,
                    u64::MAX,
                    std::slice::from_ref(&table),
                    Hash::new_unique(),
                )
                .is_ok()
            })
            .last()
            .unwrap()
    }

    #[test]
    fn a_v0_transaction_with_the_market_table_carries_the_measured_candidates_and_makers() {
        let keys = keys();
        // The keeper pays and signs its own taker orders: one signature.
        let owner = Pubkey::new_unique();
        let candidates = most_that_fit(&owner, |ranked| ix::adl(&keys, ranked), &keys);
        let args = PlaceOrderArgs {
            side: OrderSide::Ask,
            price: u64::MAX,
            lots: u64::MAX,
            order_type: OrderType::ImmediateOrCancel,
            reduce_only: true,
            client_order_id: u64::MAX,
        };
        let makers = most_that_fit(
            &owner,
            |makers| ix::place_order(&owner, &keys, args, makers),
            &keys,
        );
        println!("v0 with the market's lookup table: {candidates} ADL candidates, {makers} makers");
        assert_eq!(candidates, V0_ADL_CANDIDATES_PER_TRANSACTION);
        assert_eq!(makers, V0_MAKERS_PER_TRANSACTION);
        // What the limit is: one more no longer fits the packet (the locks are not reached).
        let one_more: Vec<Pubkey> = (0..=candidates).map(|_| Pubkey::new_unique()).collect();
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: lookup_addresses(&keys),
        };
        assert!(matches!(
            v0_message(
                &Pubkey::new_unique(),
                &[ix::adl(&keys, &one_more)],
                MAX_COMPUTE_UNIT_LIMIT,
                u64::MAX,
                &[table],
                Hash::new_unique()
            ),
            Err(PrepareError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_table_without_the_market_accounts_or_not_a_table_is_refused_by_name() {
        let keys = keys();
        let table = Pubkey::new_unique();
        assert!(matches!(
            lookup_table(table, &[1, 2, 3], &lookup_addresses(&keys)),
            Err(PrepareError::NotALookupTable { .. })
        ));
        let mut partial = AddressLookupTable {
            meta: solana_address_lookup_table_interface::state::LookupTableMeta::new(table),
            addresses: lookup_addresses(&keys)[1..].to_vec().into(),
        };
        let data = partial.clone().serialize_for_tests().unwrap();
        assert_eq!(
            lookup_table(table, &data, &lookup_addresses(&keys)),
            Err(PrepareError::LookupTableMismatch {
                table,
                missing: 1,
                first: lookup_addresses(&keys)[0],
            })
        );
        partial.addresses = lookup_addresses(&keys).into();
        let data = partial.serialize_for_tests().unwrap();
        let loaded = lookup_table(table, &data, &lookup_addresses(&keys)).unwrap();
        assert_eq!(loaded.addresses, lookup_addresses(&keys));
    }

    #[test]
    fn priority_fee_is_the_nearest_rank_percentile_capped() {
        let fees = vec![50, 10, 40, 20, 30];
        assert_eq!(priority_fee(fees.clone(), 50, u64::MAX), 30);
        assert_eq!(priority_fee(fees.clone(), 100, u64::MAX), 50);
        assert_eq!(priority_fee(fees.clone(), 0, u64::MAX), 10);
        assert_eq!(priority_fee(fees.clone(), 75, u64::MAX), 40);
        assert_eq!(priority_fee(fees, 100, 35), 35);
        assert_eq!(priority_fee(vec![], 90, 1_000), 0);
    }

    #[test]
    fn compute_unit_limit_adds_the_margin_and_stops_at_the_runtime_maximum() {
        assert_eq!(compute_unit_limit(100_000, 20), 120_000);
        assert_eq!(compute_unit_limit(0, 20), 0);
        assert_eq!(compute_unit_limit(1_300_000, 20), MAX_COMPUTE_UNIT_LIMIT);
        assert_eq!(compute_unit_limit(u64::MAX, 20), MAX_COMPUTE_UNIT_LIMIT);
    }
}
