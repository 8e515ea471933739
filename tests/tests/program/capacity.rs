//! How many makers one `place_order` transaction can carry: measured on the real wire format.

use perps_client::{instructions as ix, OrderType, PlaceOrderArgs, Side};
use perps_tests::*;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Solana's packet limit for one serialized transaction.
const PACKET_DATA_SIZE: usize = 1_232;

fn wire_size(makers: usize) -> usize {
    let owner = TestKeypair::new();
    let keys = ix::MarketKeys {
        market: TestKeypair::new().pubkey(),
        order_book: TestKeypair::new().pubkey(),
        oracle: TestKeypair::new().pubkey(),
        treasury: TestKeypair::new().pubkey(),
    };
    let args = PlaceOrderArgs {
        side: Side::Bid,
        price: 60_000_000,
        lots: 1,
        order_type: OrderType::ImmediateOrCancel,
        reduce_only: false,
        client_order_id: 0,
    };
    let maker_keys: Vec<_> = (0..makers).map(|_| TestKeypair::new().pubkey()).collect();
    let instruction = ix::place_order(&owner.pubkey(), &keys, args, &maker_keys);
    let tx = Transaction::new_with_payer(&[instruction], Some(&owner.pubkey()));
    // Compact-u16 signature count, the signatures, then the message.
    1 + 64 * tx.message.header.num_required_signatures as usize + tx.message.serialize().len()
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
