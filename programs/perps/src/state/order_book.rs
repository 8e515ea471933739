use anchor_lang::prelude::*;
use perps_engine::Book;

/// The engine's `Book` inside the account: a transparent newtype, so the program can describe
/// its layout to Anchor's IDL without the engine knowing of Anchor, and derefs to the `Book`.
#[repr(transparent)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EngineBook(pub Book);

impl core::ops::Deref for EngineBook {
    type Target = Book;
    fn deref(&self) -> &Book {
        &self.0
    }
}

impl core::ops::DerefMut for EngineBook {
    fn deref_mut(&mut self) -> &mut Book {
        &mut self.0
    }
}

/// The layout of `perps_engine::Book` (`#[repr(C)]`, bytemuck) as IDL types: `Book`, its two
/// `BookSide`s of `BOOK_SIDE_CAPACITY` `RestingOrder`s. A test keeps it true to the engine.
#[cfg(feature = "idl-build")]
mod idl {
    use anchor_lang::idl::types::*;
    use std::collections::BTreeMap;

    const BOOK: &str = "perps_engine::book::Book";
    const SIDE: &str = "perps_engine::book::BookSide";
    const ORDER: &str = "perps_engine::book::RestingOrder";

    fn field(name: &str, doc: &str, ty: IdlType) -> IdlField {
        IdlField {
            name: name.into(),
            docs: vec![doc.into()],
            ty,
        }
    }

    fn defined(name: &str) -> IdlType {
        IdlType::Defined {
            name: name.into(),
            generics: vec![],
        }
    }

    fn bytemuck_struct(name: &str, docs: &str, fields: Vec<IdlField>) -> IdlTypeDef {
        IdlTypeDef {
            name: name.into(),
            docs: vec![docs.into()],
            serialization: IdlSerialization::Bytemuck,
            repr: Some(IdlRepr::C(IdlReprModifier {
                packed: false,
                align: None,
            })),
            generics: vec![],
            ty: IdlTypeDefTy::Struct {
                fields: Some(IdlDefinedFields::Named(fields)),
            },
        }
    }

    impl anchor_lang::idl::build::IdlBuild for super::EngineBook {
        fn create_type() -> Option<IdlTypeDef> {
            Some(bytemuck_struct(
                BOOK,
                "Both sides of a market's book, each sorted worst to best.",
                vec![
                    field(
                        "next_order_id",
                        "The id the next resting order gets.",
                        IdlType::U64,
                    ),
                    field("bids", "The bids.", defined(SIDE)),
                    field("asks", "The asks.", defined(SIDE)),
                ],
            ))
        }

        fn insert_types(types: &mut BTreeMap<String, IdlTypeDef>) {
            let side = bytemuck_struct(
                SIDE,
                "One side of the book: `len` orders, worst price first, best last.",
                vec![
                    field("len", "Orders on this side.", IdlType::U64),
                    field(
                        "orders",
                        "The orders, worst price first.",
                        IdlType::Array(
                            Box::new(defined(ORDER)),
                            IdlArrayLen::Value(perps_engine::BOOK_SIDE_CAPACITY),
                        ),
                    ),
                ],
            );
            let order = bytemuck_struct(
                ORDER,
                "A resting order: its maker's Position address, ids, price per lot and lots.",
                vec![
                    field("maker", "The maker's Position account.", IdlType::Pubkey),
                    field("order_id", "Unique and increasing in time.", IdlType::U64),
                    field("client_order_id", "The id its maker gave it.", IdlType::U64),
                    field("price", "Quote atoms per lot.", IdlType::U64),
                    field("lots", "Lots left.", IdlType::U64),
                    field(
                        "reduce_only",
                        "1 when it may only reduce its maker's position.",
                        IdlType::U8,
                    ),
                    field(
                        "padding",
                        "Zeroes.",
                        IdlType::Array(Box::new(IdlType::U8), IdlArrayLen::Value(7)),
                    ),
                ],
            );
            types.insert(SIDE.into(), side);
            types.insert(ORDER.into(), order);
        }

        fn get_full_path() -> String {
            BOOK.into()
        }
    }
}

/// A market's order book: zero-copy and too large for a CPI create, so the client creates the
/// account and `initialize_order_book` adopts it (DESIGN.md §4).
#[account(zero_copy)]
pub struct OrderBook {
    /// The market.
    pub market: Pubkey,
    /// The account layout's version (`OrderBook::VERSION` when adopted).
    pub version: u8,
    pub _padding: [u8; 7],
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 64],
    /// Bids and asks, the engine's `Book`.
    pub book: EngineBook,
}

// The README's account table: 73,864 bytes, 64 of them reserved.
const _: () = assert!(8 + std::mem::size_of::<OrderBook>() == 73_864);

impl OrderBook {
    pub const VERSION: u8 = 1;
}

/// A resting order a mass cancel took off the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancelledOrder {
    /// Bid or ask.
    pub side: perps_engine::OrderSide,
    /// The order's id.
    pub order_id: u64,
    /// Lots (base lots).
    pub lots: u64,
}

impl CancelledOrder {
    /// The `OrderCancelled` event of this order of `position`, for `reason`.
    pub fn event(
        &self,
        market: Pubkey,
        position: Pubkey,
        reason: crate::state::CancelReason,
    ) -> crate::events::OrderCancelled {
        crate::events::OrderCancelled {
            header: crate::events::EventHeader::of(market),
            position,
            order_id: self.order_id,
            side: self.side.into(),
            lots: self.lots,
            reason,
        }
    }
}

impl OrderBook {
    /// Removes every resting order of `position` (the account at `key`) and forgets them in its
    /// open-order totals; returns each order removed (at most `MAX_OPEN_ORDERS_PER_POSITION`).
    pub fn cancel_all_of(
        &mut self,
        key: &Pubkey,
        position: &mut crate::state::Position,
    ) -> Result<Vec<CancelledOrder>> {
        let mut orders = Vec::with_capacity(position.open_order_count as usize);
        let totals = self.book.cancel_all(&key.to_bytes(), &mut |side, order| {
            orders.push(CancelledOrder {
                side,
                order_id: order.order_id,
                lots: order.lots,
            })
        });
        position.remove_open_orders(perps_engine::OrderSide::Bid, totals.bid_lots.0, 0)?;
        position.remove_open_orders(
            perps_engine::OrderSide::Ask,
            totals.ask_lots.0,
            totals.orders,
        )?;
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_books_idl_layout_is_the_engines() {
        use core::mem::{offset_of, size_of};
        use perps_engine::{book::BookSide, RestingOrder, BOOK_SIDE_CAPACITY};
        // RestingOrder: maker, order_id, client_order_id, price, lots, reduce_only, 7 of padding.
        assert_eq!(
            [
                offset_of!(RestingOrder, maker),
                offset_of!(RestingOrder, order_id),
                offset_of!(RestingOrder, client_order_id),
                offset_of!(RestingOrder, price),
                offset_of!(RestingOrder, lots),
                offset_of!(RestingOrder, reduce_only),
                size_of::<RestingOrder>()
            ],
            [0, 32, 40, 48, 56, 64, 72]
        );
        assert_eq!(
            [offset_of!(BookSide, len), offset_of!(BookSide, orders)],
            [0, 8]
        );
        assert_eq!(size_of::<BookSide>(), 8 + BOOK_SIDE_CAPACITY * 72);
        assert_eq!(
            [
                offset_of!(Book, next_order_id),
                offset_of!(Book, bids),
                offset_of!(Book, asks),
                size_of::<Book>()
            ],
            [
                0,
                8,
                8 + size_of::<BookSide>(),
                8 + 2 * size_of::<BookSide>()
            ]
        );
        assert_eq!(size_of::<EngineBook>(), size_of::<Book>());
    }

    use crate::testing;
    use perps_engine::{BaseLots, OrderSide, Price};

    #[test]
    fn cancel_all_of_removes_only_that_positions_orders_and_forgets_them_in_its_totals() {
        let market = Pubkey::new_unique();
        let (key, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut book = testing::order_book(market);
        let mut position = testing::position(market, 0, 0, 0);
        for (side, price, lots) in [
            (OrderSide::Bid, 59_000_000, 3),
            (OrderSide::Ask, 61_000_000, 4),
            (OrderSide::Ask, 62_000_000, 5),
        ] {
            book.book
                .rest(side, key.to_bytes(), Price(price), BaseLots(lots), 0, false)
                .unwrap();
            position.add_open_orders(side, lots, 1).unwrap();
        }
        book.book
            .rest(
                OrderSide::Bid,
                other.to_bytes(),
                Price(58_000_000),
                BaseLots(1),
                0,
                false,
            )
            .unwrap();
        let cancelled = book.cancel_all_of(&key, &mut position).unwrap();
        let ids: Vec<(OrderSide, u64)> = cancelled.iter().map(|o| (o.side, o.lots)).collect();
        assert_eq!(
            ids,
            // Each side as stored, worst price first.
            vec![
                (OrderSide::Bid, 3),
                (OrderSide::Ask, 5),
                (OrderSide::Ask, 4)
            ]
        );
        assert!(!position.has_open_orders());
        assert_eq!(book.book.side(OrderSide::Bid).orders().len(), 1);
        assert!(book.book.side(OrderSide::Ask).orders().is_empty());
    }
}
