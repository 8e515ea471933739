//! The program's events as a transaction carries them: each is the data of an inner instruction
//! of the program to itself (Anchor's event-cpi), Anchor's event tag, then the event's
//! discriminator and its Borsh data.

use anchor_lang::{event::EVENT_IX_TAG_LE, AnchorDeserialize, Discriminator};
pub use perps::events::*;

macro_rules! events {
    ($($event:ident),+ $(,)?) => {
        /// Any event of the program.
        pub enum PerpsEvent {
            $($event($event),)+
        }

        /// The event an inner instruction's `data` carries, if it is one of the program's.
        pub fn decode(data: &[u8]) -> Option<PerpsEvent> {
            let body = data.strip_prefix(EVENT_IX_TAG_LE)?;
            $(
                if let Some(mut fields) = body.strip_prefix($event::DISCRIMINATOR) {
                    return $event::deserialize(&mut fields).ok().map(PerpsEvent::$event);
                }
            )+
            None
        }
    };
}

events!(
    ExchangeInitialized,
    AdminProposed,
    AdminChanged,
    TreasuryChanged,
    OracleAuthorityChanged,
    ExchangePauseSet,
    PriceFeedCreated,
    OrderBookInitialized,
    PositionRegistryInitialized,
    MarketCreated,
    MarketParamsUpdated,
    MarketStatusChanged,
    PriceFeedUpdated,
    PositionOpened,
    CollateralDeposited,
    CollateralWithdrawn,
    PositionClosed,
    PositionSettled,
    InsuranceFunded,
    OrderPlaced,
    Fill,
    OrderCancelled,
    FundingUpdated,
    CircuitBreakerTripped,
    CircuitBreakerCleared,
    Liquidation,
    Bankruptcy,
    InsuranceWithdrawn,
    AdlStarted,
    AdlBookTakeover,
    AdlRankingStarted,
    AdlChunkRanked,
    AdlRankingCompleted,
    AdlFilled,
    AdlSkipped,
    AdlCompleted,
);

macro_rules! headers {
    ($($event:ident),+ $(,)?) => {
        impl PerpsEvent {
            /// The market, sequence number, slot and time of a market event.
            pub fn header(&self) -> Option<&EventHeader> {
                match self {
                    $(PerpsEvent::$event(event) => Some(&event.header),)+
                    _ => None,
                }
            }
        }
    };
}

headers!(
    MarketParamsUpdated,
    MarketStatusChanged,
    CollateralWithdrawn,
    PositionSettled,
    OrderPlaced,
    Fill,
    OrderCancelled,
    FundingUpdated,
    CircuitBreakerTripped,
    CircuitBreakerCleared,
    Liquidation,
    Bankruptcy,
    InsuranceWithdrawn,
    AdlStarted,
    AdlBookTakeover,
    AdlRankingStarted,
    AdlFilled,
    AdlSkipped,
    AdlCompleted,
);

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
        let data: Vec<u8> = EVENT_IX_TAG_LE.iter().copied().chain(fill.data()).collect();
        let Some(PerpsEvent::Fill(decoded)) = decode(&data) else {
            panic!("not a fill");
        };
        assert_eq!(
            (decoded.header, decoded.lots, decoded.maker_fee),
            (fill.header, 10, -60)
        );
        // Another program's instruction data, or a truncated event, is not an event.
        assert!(decode(&data[8..]).is_none());
        assert!(decode(&data[..20]).is_none());
    }
}
