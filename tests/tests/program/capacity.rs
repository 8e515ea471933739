//! How many makers one `place_order` transaction can carry: measured on the real wire format.

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
        market: TestKeypair::new().pubkey(),
        order_book: TestKeypair::new().pubkey(),
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
    assert_eq!(fit, 22);
}

#[test]
fn adl_candidates_per_transaction() {
    let keeper = TestKeypair::new();
    let keys = market_keys();
    let bankrupt = TestKeypair::new().pubkey();
    let size = |n: usize| {
        let candidates: Vec<_> = (0..n).map(|_| TestKeypair::new().pubkey()).collect();
        let price =
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(1);
        let tx = Transaction::new_with_payer(
            &[price, ix::adl(&keys, &bankrupt, &candidates)],
            Some(&keeper.pubkey()),
        );
        1 + 64 * tx.message.header.num_required_signatures as usize + tx.message.serialize().len()
    };
    let fit = (1..64)
        .take_while(|&n| size(n) <= PACKET_DATA_SIZE)
        .last()
        .unwrap();
    println!(
        "adl: {} bytes with one candidate, {fit} candidates fit in {PACKET_DATA_SIZE} bytes",
        size(1)
    );
    assert_eq!(fit, perps_client::adl::ADL_CANDIDATES_PER_TRANSACTION);
}
