//! Golden vectors for the TypeScript client (`clients/js`): every instruction builder's data and
//! account metas, every account type's bytes, one `Events` batch, the PDAs, and the results of
//! the book, sizing, liquidation-price and ADL-indicator helpers the TypeScript mirrors, all from
//! fixed inputs. They live in `clients/js/test/golden/*.json`, where `npm test` rebuilds and
//! decodes them with the TypeScript client.
//!
//! By default this test compares the committed files with what it would write and fails on any
//! difference (so CI catches a program or client change that the TypeScript side has not seen);
//! `PERPS_GOLDEN_WRITE=1 cargo test -p perps-client --test golden` rewrites them.

use std::path::PathBuf;

use anchor_lang::{
    event::EVENT_IX_TAG_LE, prelude::Pubkey, solana_program::instruction::Instruction,
    AccountSerialize, Discriminator, Event,
};
use bytemuck::Zeroable;
use perps::events::{
    CollateralDeposited, EventHeader, Events, Fill, MarketStatusChanged, OrderCancelled,
    OrderPlaced, PerpsEvent,
};
use perps::state::{
    CancelReason, Exchange, ExchangeBounds, Market, MarketStatus, OrderBook, Position,
    PositionRegistry, PriceFeed, RankedPosition, RegistrySlot,
};
use perps_client::{
    accounts, adl, book,
    instructions::{self as ix, MarketKeys},
    pda, sizing, CancelBy, OrderSide, OrderType, PlaceOrderArgs,
};
use perps_engine::{BaseLots, Price};
use serde_json::{json, Value};

fn pk(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn instruction_json(name: &str, inputs: Value, instruction: &Instruction) -> Value {
    json!({
        "name": name,
        "inputs": inputs,
        "program_id": instruction.program_id.to_string(),
        "data": hex(&instruction.data),
        "accounts": instruction.accounts.iter().map(|m| json!({
            "pubkey": m.pubkey.to_string(),
            "is_signer": m.is_signer,
            "is_writable": m.is_writable,
        })).collect::<Vec<_>>(),
    })
}

fn bounds() -> ExchangeBounds {
    ExchangeBounds {
        max_taker_fee_bps: 100,
        min_maintenance_rate_ppm: 1_000,
        max_oracle_staleness_secs: 120,
        max_oracle_confidence_ppm: 20_000,
    }
}

fn keys() -> MarketKeys {
    MarketKeys {
        program_id: perps::ID,
        market: pda::market(3),
        order_book: pk(11),
        registry: pk(12),
        oracle: pk(13),
        treasury: pk(14),
    }
}

fn keys_json(keys: &MarketKeys) -> Value {
    json!({
        "market": keys.market.to_string(),
        "order_book": keys.order_book.to_string(),
        "registry": keys.registry.to_string(),
        "oracle": keys.oracle.to_string(),
        "treasury": keys.treasury.to_string(),
    })
}

fn instructions() -> Value {
    let admin = pk(1);
    let owner = pk(2);
    let mint = pk(3);
    let treasury = pk(4);
    let token = pk(5);
    let market = pda::market(3);
    let params = perps::testing::default_params();
    let params_hex = hex(&anchor_lang::prelude::borsh::to_vec(&params).unwrap());
    let keys = keys();
    let k = keys_json(&keys);
    let place_args = PlaceOrderArgs {
        side: OrderSide::Ask,
        price: 60_120_000,
        lots: 25,
        order_type: OrderType::ImmediateOrCancel,
        reduce_only: true,
        client_order_id: 0x0102_0304_0506_0708,
    };
    let b = bounds();
    let s = |p: Pubkey| p.to_string();
    let cases = vec![
        instruction_json(
            "initialize_exchange",
            json!({"admin": s(admin), "collateral_mint": s(mint), "treasury": s(treasury),
                   "bounds": {"max_taker_fee_bps": b.max_taker_fee_bps,
                              "min_maintenance_rate_ppm": b.min_maintenance_rate_ppm,
                              "max_oracle_staleness_secs": b.max_oracle_staleness_secs,
                              "max_oracle_confidence_ppm": b.max_oracle_confidence_ppm}}),
            &ix::initialize_exchange(&admin, &mint, &treasury, b),
        ),
        instruction_json(
            "propose_admin",
            json!({"admin": s(admin), "proposed": s(pk(6))}),
            &ix::propose_admin(&admin, &pk(6)),
        ),
        instruction_json(
            "accept_admin",
            json!({"new_admin": s(pk(6))}),
            &ix::accept_admin(&pk(6)),
        ),
        instruction_json(
            "set_treasury",
            json!({"admin": s(admin), "treasury": s(treasury)}),
            &ix::set_treasury(&admin, &treasury),
        ),
        instruction_json(
            "set_oracle_authority",
            json!({"admin": s(admin), "price_feed": s(pk(7)), "authority": s(pk(8))}),
            &ix::set_oracle_authority(&admin, &pk(7), &pk(8)),
        ),
        instruction_json(
            "set_exchange_paused",
            json!({"admin": s(admin), "paused": true}),
            &ix::set_exchange_paused(&admin, true),
        ),
        instruction_json(
            "create_price_feed",
            json!({"admin": s(admin), "market_index": 3, "authority": s(pk(8)), "expo": -8}),
            &ix::create_price_feed(&admin, 3, &pk(8), -8),
        ),
        instruction_json(
            "set_price",
            json!({"authority": s(pk(8)), "price_feed": s(pk(7)),
                   "price": "6012345678900", "conf": "1234567"}),
            &ix::set_price(&pk(8), &pk(7), 6_012_345_678_900, 1_234_567),
        ),
        instruction_json(
            "create_market",
            json!({"admin": s(admin), "collateral_mint": s(mint), "market_index": 3,
                   "oracle": s(pk(13)), "symbol": "BTC-PERP", "params_hex": params_hex}),
            &ix::create_market(
                &admin,
                &mint,
                3,
                &pk(13),
                perps_client::symbol("BTC-PERP"),
                params,
            ),
        ),
        instruction_json(
            "update_market_params",
            json!({"admin": s(admin), "market": s(market), "params_hex": params_hex}),
            &ix::update_market_params(&admin, &market, params),
        ),
        instruction_json(
            "set_market_status",
            json!({"admin": s(admin), "market": s(market), "oracle": s(pk(13)),
                   "status": "ReduceOnly"}),
            &ix::set_market_status(&admin, &market, &pk(13), MarketStatus::ReduceOnly),
        ),
        instruction_json(
            "open_position",
            json!({"owner": s(owner), "market": s(market), "registry": s(pk(12))}),
            &ix::open_position(&owner, &market, &pk(12)),
        ),
        instruction_json(
            "deposit",
            json!({"owner": s(owner), "market": s(market), "owner_token": s(token),
                   "amount": "1000000000"}),
            &ix::deposit(&owner, &market, &token, 1_000_000_000),
        ),
        instruction_json(
            "withdraw",
            json!({"owner": s(owner), "market": s(market), "owner_token": s(token),
                   "oracle": s(pk(13)), "amount": "18446744073709551615"}),
            &ix::withdraw(&owner, &market, &token, &pk(13), u64::MAX),
        ),
        instruction_json(
            "close_position",
            json!({"owner": s(owner), "market": s(market), "registry": s(pk(12))}),
            &ix::close_position(&owner, &market, &pk(12)),
        ),
        instruction_json(
            "fund_insurance",
            json!({"funder": s(pk(9)), "market": s(market), "funder_token": s(pk(10)),
                   "amount": "5000000"}),
            &ix::fund_insurance(&pk(9), &market, &pk(10), 5_000_000),
        ),
        instruction_json(
            "create_program_account",
            json!({"payer": s(admin), "account": s(pk(11)),
                   "space": ix::ORDER_BOOK_SPACE.to_string(), "lamports": "514984320"}),
            &ix::create_program_account(&admin, &pk(11), ix::ORDER_BOOK_SPACE, 514_984_320),
        ),
        instruction_json(
            "initialize_position_registry",
            json!({"admin": s(admin), "market": s(market), "registry": s(pk(12))}),
            &ix::initialize_position_registry(&admin, &market, &pk(12)),
        ),
        instruction_json(
            "initialize_order_book",
            json!({"admin": s(admin), "market": s(market), "order_book": s(pk(11))}),
            &ix::initialize_order_book(&admin, &market, &pk(11)),
        ),
        instruction_json(
            "place_order",
            json!({"owner": s(owner), "keys": k, "makers": [s(pk(20)), s(pk(21))],
                   "args": {"side": "Ask", "price": "60120000", "lots": "25",
                            "order_type": "ImmediateOrCancel", "reduce_only": true,
                            "client_order_id": "72623859790382856"}}),
            &ix::place_order(&owner, &keys, place_args, &[pk(20), pk(21)]),
        ),
        instruction_json(
            "cancel_order",
            json!({"owner": s(owner), "keys": k, "by": {"OrderId": "42"}}),
            &ix::cancel_order(&owner, &keys, CancelBy::OrderId(42)),
        ),
        instruction_json(
            "cancel_order",
            json!({"owner": s(owner), "keys": k, "by": {"ClientOrderId": "7"}}),
            &ix::cancel_order(&owner, &keys, CancelBy::ClientOrderId(7)),
        ),
        instruction_json(
            "cancel_all_orders",
            json!({"owner": s(owner), "keys": k}),
            &ix::cancel_all_orders(&owner, &keys),
        ),
        instruction_json(
            "crank_funding",
            json!({"keys": k}),
            &ix::crank_funding(&keys),
        ),
        instruction_json(
            "settle_funding",
            json!({"market": s(market), "position": s(pk(20))}),
            &ix::settle_funding(&market, &pk(20)),
        ),
        instruction_json(
            "settle_position",
            json!({"keys": k, "position": s(pk(20))}),
            &ix::settle_position(&keys, &pk(20)),
        ),
        instruction_json(
            "liquidate",
            json!({"liquidator": s(pk(9)), "keys": k, "position": s(pk(20))}),
            &ix::liquidate(&pk(9), &keys, &pk(20)),
        ),
        instruction_json(
            "withdraw_insurance",
            json!({"admin": s(admin), "market": s(market), "destination": s(pk(10)),
                   "amount": "250000"}),
            &ix::withdraw_insurance(&admin, &market, &pk(10), 250_000),
        ),
        instruction_json(
            "rank_adl_candidates",
            json!({"keys": k, "first_slot": 26, "slot_count": 3,
                   "positions": [s(pk(20)), s(pk(21)), s(pk(22))]}),
            &ix::rank_adl_candidates(&keys, 26, 3, &[pk(20), pk(21), pk(22)]),
        ),
        instruction_json(
            "adl",
            json!({"keys": k, "ranked": [s(pk(21)), s(pk(20))]}),
            &ix::adl(&keys, &[pk(21), pk(20)]),
        ),
    ];
    json!({ "program_id": perps::ID.to_string(), "instructions": cases })
}

fn pdas() -> Value {
    let market = pda::market(3);
    json!({
        "program_id": perps::ID.to_string(),
        "exchange": pda::exchange().to_string(),
        "market_0": pda::market(0).to_string(),
        "market_3": pda::market(3).to_string(),
        "market_513": pda::market(513).to_string(),
        "collateral_vault_3": pda::collateral_vault(&market).to_string(),
        "insurance_vault_3": pda::insurance_vault(&market).to_string(),
        "price_feed_3": pda::price_feed(&market).to_string(),
        "position_3_owner2": pda::position(&market, &pk(2)).to_string(),
        "program_data": pda::program_data().to_string(),
        "event_authority": pda::event_authority().to_string(),
    })
}

fn zero_copy<T: bytemuck::Pod + Discriminator>(value: &T) -> Vec<u8> {
    let mut data = T::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(value));
    data
}

fn borsh_account<T: AccountSerialize>(value: &T) -> Vec<u8> {
    let mut data = Vec::new();
    value.try_serialize(&mut data).unwrap();
    data
}

fn golden_market() -> Market {
    let mut m = *perps::testing::market();
    m.exchange = pda::exchange();
    m.oracle = pk(13);
    m.collateral_vault = pda::collateral_vault(&pda::market(3));
    m.insurance_vault = pda::insurance_vault(&pda::market(3));
    m.order_book = pk(11);
    m.position_registry = pk(12);
    m.params.volatility_sensitivity_ppm = 2_000_000;
    m.params.max_volatility_factor_ppm = 3_000_000;
    m.open_interest_long = 1_234;
    m.open_interest_short = 1_234;
    m.funding_index = -2_500_001;
    m.last_funding_time = 1_700_000_000;
    m.last_funding_rate_ppm = -17;
    m.funding_residue = 3;
    m.oracle_ema = 59_000_000;
    m.last_oracle_time = 1_700_000_100;
    m.breaker_reference_price = 60_000_000;
    m.event_sequence = 99;
    m.adl_book.market = pda::market(3);
    m.adl_book.base_lots = -7;
    m.adl_book.cost_basis = -420_000_000;
    m.adl_snapshot_price = 61_000_000;
    m.adl_sweep = 2;
    m.adl_candidate_side = 1;
    m.symbol = perps_client::symbol("BTC-PERP");
    m.index = 3;
    m.bump = 254;
    m.collateral_vault_bump = 253;
    m.insurance_vault_bump = 252;
    m.version = 1;
    m
}

fn golden_position(owner: u8, collateral: i64, lots: i64, entry: i64) -> Position {
    let mut p = Position::zeroed();
    p.market = pda::market(3);
    p.owner = pk(owner);
    p.collateral = collateral;
    p.base_lots = lots;
    p.cost_basis = lots * entry;
    p.funding_index_snapshot = -1_000_000;
    p.open_bid_lots = 3;
    p.open_ask_lots = 4;
    p.open_order_count = 2;
    p.registry_slot = 5;
    p.bump = 251;
    p.version = 1;
    p
}

/// Asks from makers 20, 21, 20, 22 (best last) and bids from 23 and the taker 2's position.
fn golden_book() -> Box<OrderBook> {
    let mut b = perps::testing::order_book(pda::market(3));
    b.version = 1;
    let mut rest = |side, maker: Pubkey, price: u64, lots: u64| {
        b.book
            .rest(
                side,
                maker.to_bytes(),
                Price(price),
                BaseLots(lots),
                100 + lots,
                false,
            )
            .unwrap();
    };
    let taker = pda::position(&pda::market(3), &pk(2));
    rest(perps_engine::OrderSide::Ask, pk(20), 60_100_000, 5);
    rest(perps_engine::OrderSide::Ask, pk(21), 60_110_000, 7);
    rest(perps_engine::OrderSide::Ask, taker, 60_110_000, 2);
    rest(perps_engine::OrderSide::Ask, pk(20), 60_120_000, 3);
    rest(perps_engine::OrderSide::Ask, pk(22), 60_150_000, 9);
    rest(perps_engine::OrderSide::Bid, pk(23), 60_000_000, 4);
    rest(perps_engine::OrderSide::Bid, taker, 59_990_000, 6);
    b
}

fn golden_registry() -> (PositionRegistry, Vec<RegistrySlot>) {
    let mut r = PositionRegistry::zeroed();
    r.market = pda::market(3);
    r.capacity = 3;
    r.count = 2;
    r.high_water = 3;
    r.free_head = 1;
    r.sweep = 2;
    r.sweep_slots = 3;
    r.slots_ranked = 3;
    r.ranked_len = 3;
    r.fill_cursor = 1;
    r.eligible_count = 3;
    r.eligible_lots = 40;
    r.snapshot_price = 61_000_000;
    r.candidate_side = 1;
    r.version = 1;
    for (i, (who, num, den, lots)) in [
        (20u8, 900u128, 7u128, 10u64),
        (21, 500, 3, 12),
        (22, 1, 9, 18),
    ]
    .into_iter()
    .enumerate()
    {
        r.ranking[i] = RankedPosition {
            position: pk(who),
            score_num: num.to_le_bytes(),
            score_den: den.to_le_bytes(),
            lots,
            slot: i as u32,
            _padding: [0; 4],
        };
    }
    let slots = vec![
        RegistrySlot {
            position: pk(20),
            next_free: u32::MAX,
            ranked_in_sweep: 2,
        },
        RegistrySlot {
            position: Pubkey::default(),
            next_free: u32::MAX,
            ranked_in_sweep: 1,
        },
        RegistrySlot {
            position: pk(22),
            next_free: u32::MAX,
            ranked_in_sweep: 2,
        },
    ];
    (r, slots)
}

fn accounts_json() -> Value {
    let exchange = Exchange {
        admin: pk(1),
        collateral_mint: pk(3),
        treasury: pk(4),
        bounds: bounds(),
        market_count: 4,
        collateral_decimals: 6,
        bump: 255,
        pending_admin: pk(6),
        paused: true,
        version: 1,
        _reserved: [0; 128],
    };
    let feed = PriceFeed {
        market: pda::market(3),
        authority: pk(8),
        price: 6_012_345_678_900,
        conf: 1_234_567,
        publish_time: 1_700_000_123,
        expo: -8,
        bump: 250,
        version: 1,
        _reserved: [0; 32],
    };
    let market = golden_market();
    let position = golden_position(2, 1_000_000_000, 10, 60_000_000);
    let book = golden_book();
    let (registry, slots) = golden_registry();
    let mut registry_data = zero_copy(&registry);
    for slot in &slots {
        registry_data.extend_from_slice(bytemuck::bytes_of(slot));
    }
    // Decoding through the Rust client first: the TypeScript side must agree with it.
    accounts::exchange(&borsh_account(&exchange)).unwrap();
    accounts::price_feed(&borsh_account(&feed)).unwrap();
    let decoded = accounts::registry(&registry_data).unwrap();
    assert_eq!(decoded.positions().count(), 2);
    json!({
        "exchange": {"hex": hex(&borsh_account(&exchange)),
                     "fields": {"admin": pk(1).to_string(), "market_count": 4, "paused": true}},
        "price_feed": {"hex": hex(&borsh_account(&feed)),
                       "fields": {"price": feed.price.to_string(), "expo": feed.expo}},
        "market": {"hex": hex(&zero_copy(&market)),
                   "fields": {"index": market.index, "funding_index": market.funding_index.to_string(),
                              "adl_book_base_lots": market.adl_book.base_lots.to_string(),
                              "symbol": "BTC-PERP", "margin_tier_count": 3}},
        "position": {"hex": hex(&zero_copy(&position)),
                     "fields": {"owner": pk(2).to_string(), "collateral": "1000000000",
                                "base_lots": "10", "registry_slot": 5}},
        "order_book": {"hex": hex(&zero_copy(&*book)),
                       "fields": {"next_order_id": book.book.next_order_id.to_string(),
                                  "bids_len": book.book.bids.len.to_string(),
                                  "asks_len": book.book.asks.len.to_string()}},
        "position_registry": {"hex": hex(&registry_data),
                              "fields": {"capacity": 3, "ranked_len": 3,
                                         "positions": decoded.positions()
                                            .map(|(slot, key)| json!([slot, key.to_string()]))
                                            .collect::<Vec<_>>()}},
    })
}

fn events_json() -> Value {
    let header = |sequence| EventHeader {
        market: pda::market(3),
        sequence,
        slot: 321,
        unix_timestamp: 1_700_000_000,
    };
    let events = vec![
        PerpsEvent::CollateralDeposited(CollateralDeposited {
            position: pk(20),
            amount: 5_000_000,
            collateral: 1_005_000_000,
        }),
        PerpsEvent::Fill(Fill {
            header: header(100),
            maker: pk(21),
            taker: pk(20),
            maker_order_id: 4,
            taker_side: OrderSide::Bid,
            price: 60_110_000,
            lots: 7,
            maker_fee: -42,
            taker_fee: 211,
        }),
        PerpsEvent::OrderCancelled(OrderCancelled {
            header: header(101),
            position: pk(20),
            order_id: 5,
            side: OrderSide::Ask,
            lots: 2,
            reason: CancelReason::SelfTrade,
        }),
        PerpsEvent::OrderPlaced(OrderPlaced {
            header: header(102),
            position: pk(20),
            order_id: 0,
            client_order_id: 9,
            side: OrderSide::Bid,
            price: 60_200_000,
            lots: 10,
            filled: 7,
            rested: 0,
        }),
        PerpsEvent::MarketStatusChanged(MarketStatusChanged {
            header: header(103),
            old_status: MarketStatus::Active,
            new_status: MarketStatus::Settled,
            settlement_price: 60_000_000,
        }),
    ];
    let names = [
        "CollateralDeposited",
        "Fill",
        "OrderCancelled",
        "OrderPlaced",
        "MarketStatusChanged",
    ];
    let batch = Events { events };
    let data: Vec<u8> = EVENT_IX_TAG_LE
        .iter()
        .copied()
        .chain(batch.data())
        .collect();
    assert_eq!(
        perps_client::events::decode(&data).map(|e| e.len()),
        Some(5)
    );
    json!({
        "event_ix_tag": hex(EVENT_IX_TAG_LE),
        "events_discriminator": hex(Events::DISCRIMINATOR),
        "hex": hex(&data),
        "names": names,
    })
}

/// Results of the client helpers the TypeScript mirrors, over the golden accounts.
fn helpers_json() -> Value {
    let book = golden_book();
    let taker = pda::position(&pda::market(3), &pk(2));
    let mut order_accounts = Vec::new();
    for (side, price, lots, order_type) in [
        (OrderSide::Bid, 60_120_000u64, 100u64, OrderType::Limit),
        (OrderSide::Bid, 60_110_000, 6, OrderType::ImmediateOrCancel),
        (OrderSide::Bid, 60_200_000, 13, OrderType::Limit),
        (OrderSide::Ask, 59_000_000, 100, OrderType::Limit),
        (OrderSide::Bid, 60_000_000, 5, OrderType::PostOnly),
    ] {
        let args = PlaceOrderArgs {
            side,
            price,
            lots,
            order_type,
            reduce_only: false,
            client_order_id: 0,
        };
        order_accounts.push(json!({
            "side": format!("{side:?}"), "price": price.to_string(), "lots": lots.to_string(),
            "order_type": format!("{order_type:?}"), "taker": taker.to_string(),
            "accounts": book::order_accounts(&book, &taker, &args)
                .iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        }));
    }

    // A full bid side (512 bids of makers 30..=33 from 59,000,000 up, one tick apart, the
    // taker's own at the top) for the eviction cases: an order better than the worst evicts it.
    let mut full = perps::testing::order_book(pda::market(3));
    for i in 0..512u64 {
        let maker = if i == 511 {
            taker
        } else {
            pk(30 + (i % 4) as u8)
        };
        full.book
            .rest(
                perps_engine::OrderSide::Bid,
                maker.to_bytes(),
                Price(59_000_000 + 10_000 * (i / 2)),
                BaseLots(1 + i % 3),
                i,
                false,
            )
            .unwrap();
    }
    full.book
        .rest(
            perps_engine::OrderSide::Ask,
            pk(34).to_bytes(),
            Price(62_000_000),
            BaseLots(5),
            0,
            false,
        )
        .unwrap();
    let mut full_book_accounts = Vec::new();
    for (side, price, lots, order_type, who) in [
        (OrderSide::Bid, 59_000_000u64, 1u64, OrderType::Limit, taker),
        (OrderSide::Bid, 59_010_000, 1, OrderType::Limit, taker),
        (
            OrderSide::Bid,
            59_010_000,
            1,
            OrderType::ImmediateOrCancel,
            taker,
        ),
        (OrderSide::Bid, 62_000_000, 9, OrderType::Limit, taker),
        (OrderSide::Bid, 59_010_000, 1, OrderType::PostOnly, pk(31)),
        (OrderSide::Ask, 58_000_000, 4, OrderType::Limit, pk(40)),
    ] {
        let args = PlaceOrderArgs {
            side,
            price,
            lots,
            order_type,
            reduce_only: false,
            client_order_id: 0,
        };
        full_book_accounts.push(json!({
            "side": format!("{side:?}"), "price": price.to_string(), "lots": lots.to_string(),
            "order_type": format!("{order_type:?}"), "taker": who.to_string(),
            "accounts": book::order_accounts(&full, &who, &args)
                .iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        }));
    }

    let market = golden_market();
    let tiers = market.params.margin_tiers().unwrap();
    let mut sizing_cases = Vec::new();
    let positions = [
        ("flat_1000", golden_position(2, 1_000_000_000, 0, 0)),
        ("long_10", golden_position(2, 1_000_000_000, 10, 60_000_000)),
        (
            "short_300",
            golden_position(2, 500_000_000, -300, 60_500_000),
        ),
        (
            "long_2000_thin",
            golden_position(2, 2_000_000_000, 2_000, 59_000_000),
        ),
        ("empty", golden_position(2, 0, 0, 0)),
    ];
    for (name, position) in &positions {
        for price in [59_000_000u64, 60_000_000, 61_234_567] {
            for lots in [1u64, 100, 1_000, 751, 100_000] {
                sizing_cases.push(json!({
                    "position": name, "price": price.to_string(), "lots": lots.to_string(),
                    "equity": sizing::equity_at(&market, position, Price(price)).map(|e| e.to_string()),
                    "affordable_lots": sizing::affordable_lots(&market, position, Price(price), lots).to_string(),
                }));
            }
        }
    }
    let mut liquidation = Vec::new();
    for (name, position) in &positions {
        let state = position.state_at(market.funding_index).unwrap();
        let price = state
            .liquidation_price(&tiers)
            .ok()
            .flatten()
            .map(|p| p.0.to_string());
        let bankruptcy = state.bankruptcy_price().ok().map(|p| p.0.to_string());
        liquidation.push(json!({"position": name, "liquidation_price": price,
                                "bankruptcy_price": bankruptcy}));
    }
    let mut prices = Vec::new();
    for price in [60_123_457u64, 60_000_000, 1, 999_999_999_999] {
        for bps in [-50i64, -7, 0, 5, 50] {
            for side in [OrderSide::Bid, OrderSide::Ask] {
                prices.push(json!({
                    "side": format!("{side:?}"), "price": price.to_string(), "offset_bps": bps,
                    "tick": "10000",
                    "price_at": sizing::price_at(side, Price(price), bps, 10_000).to_string(),
                    "taker_limit": (bps >= 0).then(|| sizing::taker_limit(side, Price(price), bps as u32, 10_000).to_string()),
                }));
            }
        }
    }
    let (registry, slots) = golden_registry();
    let mut registry_data = zero_copy(&registry);
    for slot in &slots {
        registry_data.extend_from_slice(bytemuck::bytes_of(slot));
    }
    let ranking = adl::on_chain_ranking(&accounts::registry(&registry_data).unwrap())
        .into_iter()
        .map(|r| {
            json!({"key": r.key.to_string(), "lots": r.lots.to_string(), "rank": r.rank,
                   "indicator": r.indicator, "eligible": r.eligible})
        })
        .collect::<Vec<_>>();
    let registry_hex = hex(&registry_data);
    let mut indicators = Vec::new();
    for total in [0u64, 1, 7, 100] {
        for through in [0u64, 1, 5, 20, 21, 40, 60, 80, 81, 100] {
            indicators.push(json!([
                through.to_string(),
                total.to_string(),
                perps_engine::adl::adl_indicator(through, total)
            ]));
        }
    }
    json!({
        "market": hex(&zero_copy(&market)),
        "positions": positions.iter().map(|(name, p)| (name.to_string(), json!(hex(&zero_copy(p)))))
            .collect::<serde_json::Map<_, _>>(),
        "book": hex(&zero_copy(&*book)),
        "order_accounts": order_accounts,
        "full_book": hex(&zero_copy(&*full)),
        "full_book_order_accounts": full_book_accounts,
        "sizing": sizing_cases,
        "liquidation": liquidation,
        "prices": prices,
        "registry": registry_hex,
        "on_chain_ranking": ranking,
        "adl_indicator": indicators,
    })
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients/js/test/golden")
}

#[test]
fn golden_vectors_match_the_committed_files() {
    let files = [
        ("instructions.json", instructions()),
        ("pdas.json", pdas()),
        ("accounts.json", accounts_json()),
        ("events.json", events_json()),
        ("helpers.json", helpers_json()),
    ];
    let write = std::env::var("PERPS_GOLDEN_WRITE").is_ok_and(|v| v == "1");
    let dir = golden_dir();
    let mut stale = Vec::new();
    for (name, value) in files {
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        let path = dir.join(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "golden files differ from what the Rust client builds: {stale:?} in {}; \
         regenerate with PERPS_GOLDEN_WRITE=1 cargo test -p perps-client --test golden, \
         then run `npm test` in clients/js",
        dir.display()
    );
}
