//! The simulator's side of the bank: transactions go through the test harness as before, and
//! accounts are read through the account cache the keepers share, which forgets what each sent
//! transaction may have written. Every transaction of a run (the simulator's and the keepers')
//! reaches the cache, so a cached account is the account as the bank holds it, and the run
//! sends the same transactions as one that reads everything afresh.
#![allow(deprecated)]

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
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
}

impl BankView {
    pub fn new(ctx: TestContext) -> Self {
        Self {
            ctx,
            cache: AccountCache::new(),
            position_keys: HashMap::new(),
        }
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

    /// `TestContext::place`, through the cache: the order with the maker accounts it reaches,
    /// read off the book as a client would.
    pub async fn place(
        &mut self,
        m: &MarketFixture,
        trader: &Wallet,
        args: PlaceOrderArgs,
    ) -> Result<(), TxError> {
        let book = self.order_book(&m.order_book).await;
        let taker = self.position_key(&m.market, &trader.pubkey());
        let makers = perps_client::book::makers_in_reach(
            &book,
            &taker,
            args.side.into(),
            perps_engine::Price(args.price),
            args.lots,
        );
        let instruction = ix::place_order(&trader.pubkey(), &m.keys(), args, &makers);
        self.send(&[instruction], &[&trader.keypair]).await
    }
}
