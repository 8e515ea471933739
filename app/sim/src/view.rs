//! The simulator's side of the bank: transactions go through the test harness as before, and
//! accounts are read through the account cache the keepers share, which forgets what each sent
//! transaction may have written. Every transaction of a run (the simulator's and the keepers')
//! reaches the cache, so a cached account is the account as the bank holds it, and the run
//! sends the same transactions as one that reads everything afresh.
#![allow(deprecated)]

use std::collections::HashMap;

use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::InstructionData;
use perps::state::{Market, OrderBook, Position};
use perps_client::{accounts as decode, instructions as ix, pda, PlaceOrderArgs};
use perps_keeper::bank::AccountCache;
use perps_keeper::chain::Fetched;
use perps_testkit::{MarketFixture, TestContext, TxError, Wallet};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub struct BankView {
    pub ctx: TestContext,
    pub cache: AccountCache,
    /// Position addresses by owner, derived once (a PDA search hashes until it finds a bump).
    position_keys: HashMap<(Pubkey, Pubkey), Pubkey>,
    /// Each owner's `place_order` accounts as the builder gave them (it derives four PDAs a call).
    orders: OrderBuilder,
}

impl BankView {
    pub fn new(ctx: TestContext) -> Self {
        Self {
            ctx,
            cache: AccountCache::new(),
            position_keys: HashMap::new(),
            orders: OrderBuilder::default(),
        }
    }

    /// `ix::place_order`, the owner's accounts derived once.
    pub fn place_order(
        &mut self,
        owner: &Pubkey,
        keys: &ix::MarketKeys,
        args: PlaceOrderArgs,
        makers: &[Pubkey],
    ) -> Instruction {
        self.orders.place_order(owner, keys, args, makers)
    }

    /// Sends one transaction through the harness and forgets what it may have written.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), TxError> {
        let result = self.ctx.send(instructions, signers).await;
        self.cache.sent(&self.ctx.bank.payer.pubkey(), instructions);
        result
    }

    pub async fn account(&mut self, key: &Pubkey) -> Option<Fetched> {
        self.cache
            .get(&self.ctx.bank.banks_client, key)
            .await
            .expect("get_account")
    }

    pub async fn market(&mut self, key: &Pubkey) -> Market {
        let data = self.account(key).await.expect("market").data;
        decode::market(&data).expect("decode market")
    }

    /// The address of `owner`'s position in `market`.
    pub fn position_key(&mut self, market: &Pubkey, owner: &Pubkey) -> Pubkey {
        *self
            .position_keys
            .entry((*market, *owner))
            .or_insert_with(|| pda::position(market, owner))
    }

    pub async fn position(&mut self, market: &Pubkey, owner: &Pubkey) -> Position {
        let key = self.position_key(market, owner);
        let data = self.account(&key).await.expect("position").data;
        decode::position(&data).expect("decode position")
    }

    /// The positions among `keys` that exist, decoded, in order.
    pub async fn positions(&mut self, keys: &[Pubkey]) -> Vec<(Pubkey, Position)> {
        let mut out = Vec::new();
        for key in keys {
            if let Some(account) = self.account(key).await {
                out.push((*key, decode::position(&account.data).expect("decode")));
            }
        }
        out
    }

    /// The market's position registry, through the cache.
    pub async fn registry(&mut self, key: &Pubkey) -> decode::Registry {
        let data = self.account(key).await.expect("registry").data;
        decode::registry(&data).expect("decode registry")
    }

    pub async fn token_balance(&mut self, key: &Pubkey) -> u64 {
        let account = self.account(key).await.expect("token account exists");
        decode::token_amount(&account.data).expect("token account")
    }

    async fn order_book(&mut self, key: &Pubkey) -> Box<OrderBook> {
        let data = self.account(key).await.expect("order book").data;
        decode::order_book(&data).expect("decode order book")
    }

    /// `TestContext::set_price`, through the cache.
    pub async fn set_price(&mut self, feed: &Pubkey, price: i64, conf: u64) -> Result<(), TxError> {
        let authority = self.ctx.oracle_authority.insecure_clone();
        self.send(
            &[ix::set_price(&authority.pubkey(), feed, price, conf)],
            &[&authority],
        )
        .await
    }

    /// `TestContext::withdraw`, through the cache.
    pub async fn withdraw(
        &mut self,
        market: &MarketFixture,
        owner: &Wallet,
        amount: u64,
    ) -> Result<(), TxError> {
        self.send(
            &[ix::withdraw(
                &owner.pubkey(),
                &market.market,
                &owner.token,
                &market.oracle,
                amount,
            )],
            &[&owner.keypair],
        )
        .await
    }

    /// `TestContext::place`, through the cache: the order with the accounts it may need (the
    /// makers it reaches, an evicted maker), read off the book as a client would.
    pub async fn place(
        &mut self,
        m: &MarketFixture,
        trader: &Wallet,
        args: PlaceOrderArgs,
    ) -> Result<(), TxError> {
        let book = self.order_book(&m.order_book).await;
        let taker = self.position_key(&m.market, &trader.pubkey());
        let accounts = perps_client::book::order_accounts(&book, &taker, &args);
        let instruction = self.place_order(&trader.pubkey(), &m.keys(), args, &accounts);
        self.send(&[instruction], &[&trader.keypair]).await
    }
}

/// `ix::place_order` without its PDA searches: the builder's instruction for an owner's first
/// order is kept, and each later one takes its accounts, with its own data and maker accounts
/// (writable, appended in book order, as the builder appends them).
#[derive(Default)]
pub struct OrderBuilder {
    kept: HashMap<Pubkey, (ix::MarketKeys, Instruction)>,
}

impl OrderBuilder {
    pub fn place_order(
        &mut self,
        owner: &Pubkey,
        keys: &ix::MarketKeys,
        args: PlaceOrderArgs,
        makers: &[Pubkey],
    ) -> Instruction {
        let mut instruction = match self.kept.get(owner) {
            Some((kept_keys, kept)) if kept_keys == keys => Instruction {
                program_id: kept.program_id,
                accounts: kept.accounts.clone(),
                data: perps::instruction::PlaceOrder { args }.data(),
            },
            _ => {
                let built = ix::place_order(owner, keys, args, &[]);
                self.kept.insert(*owner, (*keys, built.clone()));
                built
            }
        };
        instruction
            .accounts
            .extend(makers.iter().map(|m| AccountMeta::new(*m, false)));
        instruction
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perps_client::{OrderSide, OrderType};

    fn order(side: OrderSide, price: u64, lots: u64, client_order_id: u64) -> PlaceOrderArgs {
        PlaceOrderArgs {
            side,
            price,
            lots,
            order_type: OrderType::ImmediateOrCancel,
            reduce_only: client_order_id % 2 == 0,
            client_order_id,
        }
    }

    #[test]
    fn kept_accounts_build_the_same_instructions_as_the_client() {
        let keys = ix::MarketKeys {
            program_id: perps::ID,
            market: pda::market(0),
            order_book: Pubkey::new_unique(),
            registry: Pubkey::new_unique(),
            oracle: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
        };
        let other_book = ix::MarketKeys {
            order_book: Pubkey::new_unique(),
            ..keys
        };
        let (alice, bob) = (Pubkey::new_unique(), Pubkey::new_unique());
        let makers = [Pubkey::new_unique(), Pubkey::new_unique()];
        let mut builder = OrderBuilder::default();
        let cases = [
            (
                alice,
                keys,
                order(OrderSide::Bid, 60_000_000, 5, 1),
                &makers[..],
            ),
            (
                alice,
                keys,
                order(OrderSide::Ask, 59_990_000, 7, 2),
                &makers[1..],
            ),
            (bob, keys, order(OrderSide::Ask, 61_000_000, 1, 3), &[][..]),
            (
                alice,
                keys,
                order(OrderSide::Bid, 60_010_000, 2, 4),
                &[][..],
            ),
            (
                bob,
                other_book,
                order(OrderSide::Bid, 60_000_000, 3, 5),
                &makers[..],
            ),
            (
                bob,
                keys,
                order(OrderSide::Bid, 60_000_000, 3, 6),
                &makers[..],
            ),
        ];
        for (owner, keys, args, makers) in cases {
            assert_eq!(
                builder.place_order(&owner, &keys, args, makers),
                ix::place_order(&owner, &keys, args, makers)
            );
        }
    }
}
