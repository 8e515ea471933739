//! How many accounts fit one legacy transaction: makers of a `place_order`, ranked positions of an
//! `adl` step and registered positions of a `rank_adl_candidates` chunk, measured on the real wire
//! format.

use perps_client::{instructions as ix, OrderSide, OrderType};
use perps_testkit::*;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Solana's packet limit for one serialized transaction.
const PACKET_DATA_SIZE: usize = 1_232;

/// Bytes of a one-signer legacy transaction carrying `instruction`.
fn transaction_size(instruction: solana_instruction::Instruction, payer: &TestKeypair) -> usize {
    let tx = Transaction::new_with_payer(&[instruction], Some(&payer.pubkey()));
    // Compact-u16 signature count, the signatures, then the message.
    1 + 64 * tx.message.header.num_required_signatures as usize + tx.message.serialize().len()
}

fn market_keys() -> ix::MarketKeys {
    ix::MarketKeys {
        program_id: perps::ID,
        market: TestKeypair::new().pubkey(),
        order_book: TestKeypair::new().pubkey(),
        registry: TestKeypair::new().pubkey(),
        oracle: TestKeypair::new().pubkey(),
        treasury: TestKeypair::new().pubkey(),
    }
}

fn wire_size(makers: usize) -> usize {
    let owner = TestKeypair::new();
    let keys = market_keys();
    let args = order(OrderSide::Bid, 60_000_000, 1, OrderType::ImmediateOrCancel);
    let maker_keys: Vec<_> = (0..makers).map(|_| TestKeypair::new().pubkey()).collect();
    transaction_size(
        ix::place_order(&owner.pubkey(), &keys, args, &maker_keys),
        &owner,
    )
}

#[test]
fn makers_per_place_order_transaction() {
    let fit = (0..64)
        .take_while(|&n| wire_size(n) <= PACKET_DATA_SIZE)
        .last()
        .unwrap();
    println!(
        "place_order: {} bytes with no maker, {} makers fit in {PACKET_DATA_SIZE} bytes (legacy message)",
        wire_size(0),
        fit
    );
    // The figure the README states.
    assert_eq!(fit, 21);
}

/// Bytes of a legacy transaction paid by a keeper, with a compute-unit-price instruction before
/// `instruction` (as a keeper sends them).
fn keeper_transaction_size(instruction: solana_instruction::Instruction) -> usize {
    let keeper = TestKeypair::new();
    let price =
        solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(1);
    let tx = Transaction::new_with_payer(&[price, instruction], Some(&keeper.pubkey()));
    1 + 64 * tx.message.header.num_required_signatures as usize + tx.message.serialize().len()
}

fn unique_keys(n: usize) -> Vec<anchor_lang::prelude::Pubkey> {
    (0..n).map(|_| TestKeypair::new().pubkey()).collect()
}

#[test]
fn adl_candidates_per_transaction() {
    let keys = market_keys();
    let size = |n: usize| keeper_transaction_size(ix::adl(&keys, &unique_keys(n)));
    let fit = (1..64)
        .take_while(|&n| size(n) <= PACKET_DATA_SIZE)
        .last()
        .unwrap();
    println!(
        "adl: {} bytes with one ranked position, {fit} ranked positions fit in {PACKET_DATA_SIZE} bytes",
        size(1)
    );
    assert_eq!(fit, perps_client::adl::ADL_CANDIDATES_PER_TRANSACTION);
}

#[test]
fn positions_per_ranking_transaction() {
    let keys = market_keys();
    let size = |n: usize| {
        keeper_transaction_size(ix::rank_adl_candidates(&keys, 0, n as u32, &unique_keys(n)))
    };
    let fit = (1..64)
        .take_while(|&n| size(n) <= PACKET_DATA_SIZE)
        .last()
        .unwrap();
    println!(
        "rank_adl_candidates: {} bytes with one position, {fit} positions fit in {PACKET_DATA_SIZE} bytes",
        size(1)
    );
    assert_eq!(fit, perps_client::adl::RANK_POSITIONS_PER_TRANSACTION);
}
