//! The program's events as a transaction carries them: each is the data of an inner instruction
//! of the program to itself (Anchor's event-cpi), Anchor's event tag, then the event's
//! discriminator and its Borsh data.

use anchor_lang::{event::EVENT_IX_TAG_LE, AnchorDeserialize, Discriminator};
pub use perps::events::*;

/// The events an inner instruction's `data` carries, if it is one of the program's `Events`
/// batches (read only those of successful transactions, and of instructions whose program is
/// this one: anyone can put these bytes in a failing transaction).
pub fn decode(data: &[u8]) -> Option<Vec<PerpsEvent>> {
    let mut body = data
        .strip_prefix(EVENT_IX_TAG_LE)?
        .strip_prefix(Events::DISCRIMINATOR)?;
    let events = Events::deserialize(&mut body).ok()?;
    body.is_empty().then_some(events.events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::{prelude::Pubkey, Event};

    #[test]
    fn an_event_round_trips_through_its_self_cpi_data() {
        let fill = Fill {
            header: EventHeader {
                market: Pubkey::new_unique(),
                sequence: 7,
                slot: 3,
                unix_timestamp: 1_700_000_000,
            },
            maker: Pubkey::new_unique(),
            taker: Pubkey::new_unique(),
            maker_order_id: 4,
            taker_side: perps::state::OrderSide::Bid,
            price: 60_000_000,
            lots: 10,
            maker_fee: -60,
            taker_fee: 300,
        };
        let batch = Events {
            events: vec![PerpsEvent::Fill(fill)],
        };
        let data: Vec<u8> = EVENT_IX_TAG_LE
            .iter()
            .copied()
            .chain(batch.data())
            .collect();
        let decoded = decode(&data).expect("a batch");
        let [PerpsEvent::Fill(decoded)] = &decoded[..] else {
            panic!("not one fill");
        };
        assert_eq!(
            (decoded.header.sequence, decoded.lots, decoded.maker_fee),
            (7, 10, -60)
        );
        // Another program's instruction data, or a truncated event, is not an event.
        assert!(decode(&data[8..]).is_none());
        assert!(decode(&data[..20]).is_none());
    }
}
