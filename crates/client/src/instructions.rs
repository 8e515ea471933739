//! One builder per instruction. Each derives the PDAs it can, so a caller passes only what it
//! chooses: signers, its own token accounts, the market and the amounts.

use anchor_lang::{
    prelude::{AccountMeta, Pubkey},
    solana_program::instruction::Instruction,
    system_program, InstructionData, ToAccountMetas,
};
use perps::instructions::PlaceOrderArgs;
use perps::state::{CancelBy, ExchangeBounds, MarketParams, MarketStatus, OrderBook};
use perps::{accounts as acc, instruction as ix};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    build_for(&perps::ID, accounts, data)
}

fn build_for(
    program_id: &Pubkey,
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
) -> Instruction {
    Instruction {
        program_id: *program_id,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// Replaces every occurrence of `old` among an instruction's accounts with `new`: for callers
/// (and tests) that need an account the builder would not pick.
pub fn with_account(mut instruction: Instruction, old: &Pubkey, new: &Pubkey) -> Instruction {
    instruction
        .accounts
        .iter_mut()
        .filter(|m: &&mut AccountMeta| m.pubkey == *old)
        .for_each(|m| m.pubkey = *new);
    instruction
}

pub fn initialize_exchange(
    admin: &Pubkey,
    collateral_mint: &Pubkey,
    treasury: &Pubkey,
    bounds: ExchangeBounds,
) -> Instruction {
    build(
        acc::InitializeExchange {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            program_data: pda::program_data(),
            exchange: pda::exchange(),
            collateral_mint: *collateral_mint,
            treasury: *treasury,
            token_program: anchor_spl::token::ID,
            system_program: system_program::ID,
        },
        ix::InitializeExchange { bounds },
    )
}

/// Names `proposed` as the next admin (the first step of a transfer).
pub fn propose_admin(admin: &Pubkey, proposed: &Pubkey) -> Instruction {
    build(
        acc::ProposeAdmin {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
        },
        ix::ProposeAdmin {
            proposed: *proposed,
        },
    )
}

/// The proposed admin takes over (the second step).
pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        acc::AcceptAdmin {
            event_authority: pda::event_authority(),
            program: perps::ID,
            new_admin: *new_admin,
            exchange: pda::exchange(),
        },
        ix::AcceptAdmin {},
    )
}

pub fn set_treasury(admin: &Pubkey, treasury: &Pubkey) -> Instruction {
    build(
        acc::SetTreasury {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            treasury: *treasury,
        },
        ix::SetTreasury {},
    )
}

pub fn set_oracle_authority(
    admin: &Pubkey,
    price_feed: &Pubkey,
    authority: &Pubkey,
) -> Instruction {
    build(
        acc::SetOracleAuthority {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            price_feed: *price_feed,
        },
        ix::SetOracleAuthority {
            authority: *authority,
        },
    )
}

pub fn set_exchange_paused(admin: &Pubkey, paused: bool) -> Instruction {
    build(
        acc::SetExchangePaused {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
        },
        ix::SetExchangePaused { paused },
    )
}

pub fn create_price_feed(
    admin: &Pubkey,
    market_index: u16,
    authority: &Pubkey,
    expo: i32,
) -> Instruction {
    let market = pda::market(market_index);
    build(
        acc::CreatePriceFeed {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market,
            price_feed: pda::price_feed(&market),
            system_program: system_program::ID,
        },
        ix::CreatePriceFeed {
            market_index,
            authority: *authority,
            expo,
        },
    )
}

pub fn set_price(authority: &Pubkey, price_feed: &Pubkey, price: i64, conf: u64) -> Instruction {
    build(
        acc::SetPrice {
            event_authority: pda::event_authority(),
            program: perps::ID,
            authority: *authority,
            price_feed: *price_feed,
        },
        ix::SetPrice { price, conf },
    )
}

pub fn create_market(
    admin: &Pubkey,
    collateral_mint: &Pubkey,
    market_index: u16,
    oracle: &Pubkey,
    symbol: [u8; 16],
    params: MarketParams,
) -> Instruction {
    let market = pda::market(market_index);
    build(
        acc::CreateMarket {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market,
            collateral_vault: pda::collateral_vault(&market),
            insurance_vault: pda::insurance_vault(&market),
            collateral_mint: *collateral_mint,
            oracle: *oracle,
            token_program: anchor_spl::token::ID,
            system_program: system_program::ID,
        },
        ix::CreateMarket { symbol, params },
    )
}

pub fn update_market_params(admin: &Pubkey, market: &Pubkey, params: MarketParams) -> Instruction {
    build(
        acc::UpdateMarketParams {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
        },
        ix::UpdateMarketParams { params },
    )
}

pub fn set_market_status(
    admin: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    status: MarketStatus,
) -> Instruction {
    build(
        acc::SetMarketStatus {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
            oracle: *oracle,
        },
        ix::SetMarketStatus { status },
    )
}

/// Opens the owner's position in `market`, registering it in the market's `registry`.
pub fn open_position(owner: &Pubkey, market: &Pubkey, registry: &Pubkey) -> Instruction {
    build(
        acc::OpenPosition {
            event_authority: pda::event_authority(),
            program: perps::ID,
            exchange: pda::exchange(),
            owner: *owner,
            market: *market,
            registry: *registry,
            position: pda::position(market, owner),
            system_program: system_program::ID,
        },
        ix::OpenPosition {},
    )
}

pub fn deposit(owner: &Pubkey, market: &Pubkey, owner_token: &Pubkey, amount: u64) -> Instruction {
    deposit_under(&perps::ID, owner, market, owner_token, amount)
}

/// `deposit` to the program deployed at `program_id`.
pub fn deposit_under(
    program_id: &Pubkey,
    owner: &Pubkey,
    market: &Pubkey,
    owner_token: &Pubkey,
    amount: u64,
) -> Instruction {
    let pdas = pda::Pdas(*program_id);
    build_for(
        program_id,
        acc::Deposit {
            event_authority: pdas.event_authority(),
            program: *program_id,
            exchange: pdas.exchange(),
            owner: *owner,
            market: *market,
            position: pdas.position(market, owner),
            collateral_vault: pdas.collateral_vault(market),
            owner_token: *owner_token,
            token_program: anchor_spl::token::ID,
        },
        ix::Deposit { amount },
    )
}

pub fn withdraw(
    owner: &Pubkey,
    market: &Pubkey,
    owner_token: &Pubkey,
    oracle: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::Withdraw {
            event_authority: pda::event_authority(),
            program: perps::ID,
            exchange: pda::exchange(),
            owner: *owner,
            market: *market,
            position: pda::position(market, owner),
            collateral_vault: pda::collateral_vault(market),
            owner_token: *owner_token,
            oracle: *oracle,
            token_program: anchor_spl::token::ID,
        },
        ix::Withdraw { amount },
    )
}

pub fn close_position(owner: &Pubkey, market: &Pubkey, registry: &Pubkey) -> Instruction {
    build(
        acc::ClosePosition {
            event_authority: pda::event_authority(),
            program: perps::ID,
            owner: *owner,
            position: pda::position(market, owner),
            registry: *registry,
        },
        ix::ClosePosition {},
    )
}

pub fn fund_insurance(
    funder: &Pubkey,
    market: &Pubkey,
    funder_token: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::FundInsurance {
            event_authority: pda::event_authority(),
            program: perps::ID,
            exchange: pda::exchange(),
            funder: *funder,
            market: *market,
            insurance_vault: pda::insurance_vault(market),
            funder_token: *funder_token,
            token_program: anchor_spl::token::ID,
        },
        ix::FundInsurance { amount },
    )
}

/// The size of an order book account.
pub const ORDER_BOOK_SPACE: usize = 8 + std::mem::size_of::<OrderBook>();

/// Creates an account of `space` bytes owned by the program, zeroed, with `lamports` of rent:
/// the order book (`ORDER_BOOK_SPACE`) or a position registry (`registry_account_size`), too
/// large for the program to create. The new account's keypair must sign.
pub fn create_program_account(
    payer: &Pubkey,
    account: &Pubkey,
    space: usize,
    lamports: u64,
) -> Instruction {
    anchor_lang::solana_program::instruction::Instruction {
        program_id: system_program::ID,
        accounts: vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(*account, true),
        ],
        data: {
            // SystemInstruction::CreateAccount { lamports, space, owner }
            let mut data = Vec::with_capacity(52);
            data.extend_from_slice(&0u32.to_le_bytes());
            data.extend_from_slice(&lamports.to_le_bytes());
            data.extend_from_slice(&(space as u64).to_le_bytes());
            data.extend_from_slice(perps::ID.as_ref());
            data
        },
    }
}

/// Adopts a created account of `registry_account_size(capacity)` bytes as the market's
/// position registry.
pub fn initialize_position_registry(
    admin: &Pubkey,
    market: &Pubkey,
    registry: &Pubkey,
) -> Instruction {
    build(
        acc::InitializePositionRegistry {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
            registry: *registry,
        },
        ix::InitializePositionRegistry {},
    )
}

pub fn initialize_order_book(admin: &Pubkey, market: &Pubkey, order_book: &Pubkey) -> Instruction {
    build(
        acc::InitializeOrderBook {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
            order_book: *order_book,
        },
        ix::InitializeOrderBook {},
    )
}

/// The accounts of one market that trading instructions name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketKeys {
    /// The program these accounts belong to (`perps::ID`, or another deployment's id): the
    /// builders taking `MarketKeys` derive their PDAs and address their instruction under it.
    pub program_id: Pubkey,
    pub market: Pubkey,
    pub order_book: Pubkey,
    pub registry: Pubkey,
    pub oracle: Pubkey,
    pub treasury: Pubkey,
}

impl MarketKeys {
    /// The PDAs under `program_id`.
    pub fn pdas(&self) -> pda::Pdas {
        pda::Pdas(self.program_id)
    }
}

/// Places an order; `makers` are the Position accounts of the resting orders it may reach, in
/// book order (see `book::makers_in_reach`).
pub fn place_order(
    owner: &Pubkey,
    keys: &MarketKeys,
    args: PlaceOrderArgs,
    makers: &[Pubkey],
) -> Instruction {
    let mut instruction = build_for(
        &keys.program_id,
        acc::PlaceOrder {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            owner: *owner,
            exchange: keys.pdas().exchange(),
            market: keys.market,
            order_book: keys.order_book,
            position: keys.pdas().position(&keys.market, owner),
            oracle: keys.oracle,
            collateral_vault: keys.pdas().collateral_vault(&keys.market),
            insurance_vault: keys.pdas().insurance_vault(&keys.market),
            treasury: keys.treasury,
            token_program: anchor_spl::token::ID,
        },
        ix::PlaceOrder { args },
    );
    instruction
        .accounts
        .extend(makers.iter().map(|m| AccountMeta::new(*m, false)));
    instruction
}

pub fn cancel_order(owner: &Pubkey, keys: &MarketKeys, by: CancelBy) -> Instruction {
    build_for(
        &keys.program_id,
        acc::CancelOrder {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            owner: *owner,
            market: keys.market,
            order_book: keys.order_book,
            position: keys.pdas().position(&keys.market, owner),
        },
        ix::CancelOrder { by },
    )
}

pub fn cancel_all_orders(owner: &Pubkey, keys: &MarketKeys) -> Instruction {
    build_for(
        &keys.program_id,
        acc::CancelAllOrders {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            owner: *owner,
            market: keys.market,
            order_book: keys.order_book,
            position: keys.pdas().position(&keys.market, owner),
        },
        ix::CancelAllOrders {},
    )
}

pub fn crank_funding(keys: &MarketKeys) -> Instruction {
    build_for(
        &keys.program_id,
        acc::CrankFunding {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            exchange: keys.pdas().exchange(),
            market: keys.market,
            order_book: keys.order_book,
            oracle: keys.oracle,
            collateral_vault: keys.pdas().collateral_vault(&keys.market),
            insurance_vault: keys.pdas().insurance_vault(&keys.market),
            token_program: anchor_spl::token::ID,
        },
        ix::CrankFunding {},
    )
}

pub fn settle_funding(market: &Pubkey, position: &Pubkey) -> Instruction {
    build(
        acc::SettleFunding {
            exchange: pda::exchange(),
            market: *market,
            position: *position,
        },
        ix::SettleFunding {},
    )
}

/// Closes `position` at the settlement price of its Settled market (permissionless; no signer
/// beyond the fee payer). Sweeps the market's funding rounding to its insurance vault.
pub fn settle_position(keys: &MarketKeys, position: &Pubkey) -> Instruction {
    build_for(
        &keys.program_id,
        acc::SettlePosition {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            exchange: keys.pdas().exchange(),
            market: keys.market,
            order_book: keys.order_book,
            position: *position,
            collateral_vault: keys.pdas().collateral_vault(&keys.market),
            insurance_vault: keys.pdas().insurance_vault(&keys.market),
            token_program: anchor_spl::token::ID,
        },
        ix::SettlePosition {},
    )
}

/// Liquidates `position`; the liquidator's own position in the market takes the lots over.
pub fn liquidate(liquidator: &Pubkey, keys: &MarketKeys, position: &Pubkey) -> Instruction {
    build_for(
        &keys.program_id,
        acc::Liquidate {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            exchange: keys.pdas().exchange(),
            liquidator: *liquidator,
            market: keys.market,
            order_book: keys.order_book,
            liquidator_position: keys.pdas().position(&keys.market, liquidator),
            position: *position,
            oracle: keys.oracle,
            collateral_vault: keys.pdas().collateral_vault(&keys.market),
            insurance_vault: keys.pdas().insurance_vault(&keys.market),
            token_program: anchor_spl::token::ID,
        },
        ix::Liquidate {},
    )
}

pub fn withdraw_insurance(
    admin: &Pubkey,
    market: &Pubkey,
    destination: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::WithdrawInsurance {
            event_authority: pda::event_authority(),
            program: perps::ID,
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
            insurance_vault: pda::insurance_vault(market),
            destination: *destination,
            token_program: anchor_spl::token::ID,
        },
        ix::WithdrawInsurance { amount },
    )
}

/// Ranks registry slots `first_slot .. first_slot + slot_count` for the market's ADL sweep;
/// `positions` must be exactly the positions registered there, in slot order (read-only).
pub fn rank_adl_candidates(
    keys: &MarketKeys,
    first_slot: u32,
    slot_count: u32,
    positions: &[Pubkey],
) -> Instruction {
    let mut instruction = build_for(
        &keys.program_id,
        acc::RankAdlCandidates {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            exchange: keys.pdas().exchange(),
            market: keys.market,
            registry: keys.registry,
        },
        ix::RankAdlCandidates {
            first_slot,
            slot_count,
        },
    );
    instruction.accounts.extend(
        positions
            .iter()
            .map(|p| AccountMeta::new_readonly(*p, false)),
    );
    instruction
}

/// One ADL step: closes the market's ADL book against `ranked`, which must be the on-chain
/// ranking's next unfilled positions, in its order.
pub fn adl(keys: &MarketKeys, ranked: &[Pubkey]) -> Instruction {
    let mut instruction = build_for(
        &keys.program_id,
        acc::Adl {
            event_authority: keys.pdas().event_authority(),
            program: keys.program_id,
            exchange: keys.pdas().exchange(),
            market: keys.market,
            order_book: keys.order_book,
            registry: keys.registry,
            oracle: keys.oracle,
            collateral_vault: keys.pdas().collateral_vault(&keys.market),
            insurance_vault: keys.pdas().insurance_vault(&keys.market),
            token_program: anchor_spl::token::ID,
        },
        ix::Adl {},
    );
    instruction
        .accounts
        .extend(ranked.iter().map(|c| AccountMeta::new(*c, false)));
    instruction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_taking_market_keys_derive_every_pda_under_the_keys_program_id() {
        let other = Pubkey::new_unique();
        let (market, owner, target) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let keys = MarketKeys {
            program_id: other,
            market,
            order_book: Pubkey::new_unique(),
            registry: Pubkey::new_unique(),
            oracle: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
        };
        let under_perps = [
            pda::event_authority(),
            pda::exchange(),
            pda::collateral_vault(&market),
            pda::insurance_vault(&market),
            pda::position(&market, &owner),
            perps::ID,
        ];
        let pdas = keys.pdas();
        for instruction in [
            liquidate(&owner, &keys, &target),
            crank_funding(&keys),
            settle_position(&keys, &target),
            adl(&keys, &[target]),
            rank_adl_candidates(&keys, 0, 1, &[target]),
            place_order(
                &owner,
                &keys,
                PlaceOrderArgs {
                    side: perps::state::OrderSide::Ask,
                    price: 1,
                    lots: 1,
                    order_type: perps::state::OrderType::ImmediateOrCancel,
                    reduce_only: true,
                    client_order_id: 0,
                },
                &[target],
            ),
        ] {
            assert_eq!(instruction.program_id, other);
            let accounts: Vec<Pubkey> = instruction.accounts.iter().map(|m| m.pubkey).collect();
            assert!(accounts.contains(&pdas.event_authority()));
            assert!(accounts.contains(&other));
            assert!(
                under_perps.iter().all(|k| !accounts.contains(k)),
                "an account derived under perps::ID in {accounts:?}"
            );
        }
    }
}
