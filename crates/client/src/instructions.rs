//! One builder per instruction. Each derives the PDAs it can, so a caller passes only what it
//! chooses: signers, its own token accounts, the market and the amounts.

use anchor_lang::{
    prelude::{AccountMeta, Pubkey},
    solana_program::instruction::Instruction,
    system_program, InstructionData, ToAccountMetas,
};
use perps::state::{ExchangeBounds, MarketParams, MarketStatus};
use perps::{accounts as acc, instruction as ix};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: perps::ID,
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
            admin: *admin,
            exchange: pda::exchange(),
            collateral_mint: *collateral_mint,
            treasury: *treasury,
            token_program: anchor_spl::token::ID,
            system_program: system_program::ID,
        },
        ix::InitializeExchange { bounds },
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
            admin: *admin,
            exchange: pda::exchange(),
            market: *market,
            oracle: *oracle,
        },
        ix::SetMarketStatus { status },
    )
}

pub fn open_position(owner: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        acc::OpenPosition {
            owner: *owner,
            market: *market,
            position: pda::position(market, owner),
            system_program: system_program::ID,
        },
        ix::OpenPosition {},
    )
}

pub fn deposit(owner: &Pubkey, market: &Pubkey, owner_token: &Pubkey, amount: u64) -> Instruction {
    build(
        acc::Deposit {
            owner: *owner,
            market: *market,
            position: pda::position(market, owner),
            collateral_vault: pda::collateral_vault(market),
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

pub fn close_position(owner: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        acc::ClosePosition {
            owner: *owner,
            position: pda::position(market, owner),
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
            funder: *funder,
            market: *market,
            insurance_vault: pda::insurance_vault(market),
            funder_token: *funder_token,
            token_program: anchor_spl::token::ID,
        },
        ix::FundInsurance { amount },
    )
}
