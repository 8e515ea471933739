//! Test harness: the perps program run natively inside solana-program-test's bank, after mango-v4's
//! `TestContext`. One shim adapts Anchor's entrypoint; helpers make a mint, fund wallets, send
//! transactions and assert named errors.

// solana-program-test 3.x marks its whole API "unstable" (a deprecation warning); it is the bank we test in.
#![allow(deprecated)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anchor_lang::{prelude::*, solana_program::entrypoint::ProgramResult, AccountSerialize};
use perps::error::PerpsError;
use perps::state::{
    registry_account_size, Exchange, ExchangeBounds, Market, MarketParams, MarketStatus, Position,
    PriceFeed,
};
use perps_client::{accounts as decode, instructions as ix, pda};
use solana_account::{Account, AccountSharedData};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_signer::Signer as _;
use solana_transaction::Transaction;

pub mod invariants;

pub use solana_instruction::error::InstructionError;
pub use solana_keypair::Keypair as TestKeypair;
pub use solana_transaction::TransactionError as TxError;

/// Decimals of the test collateral mint (a USDC stand-in).
pub use perps::testing::{default_params, USDC};

pub const USDC_DECIMALS: u8 = 6;
/// Positions the harness's markets can hold.
pub const REGISTRY_CAPACITY: u32 = 1_024;
/// BTC feeds publish with exponent −8, as Pyth's do.
pub const FEED_EXPO: i32 = -8;

/// Anchor's generated `entry` ties every lifetime to one `'info`, while the bank hands the
/// processor a slice that outlives its own borrow. Leaking copies of the slice, the program id and
/// the data gives all three the accounts' lifetime. Test-only: the leak is a few hundred bytes per
/// instruction.
fn process_instruction<'a, 'b, 'c, 'd>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'d [u8],
) -> ProgramResult {
    let accounts: &'c [AccountInfo<'c>] = Vec::leak(accounts.to_vec());
    let program_id: &'c Pubkey = Box::leak(Box::new(*program_id));
    let data: &'c [u8] = Vec::leak(data.to_vec());
    perps::entry(program_id, accounts, data)
}

/// Bounds loose enough for every test market.
pub fn default_bounds() -> ExchangeBounds {
    ExchangeBounds {
        max_taker_fee_bps: 100,
        min_maintenance_rate_ppm: 1_000,
        max_oracle_staleness_secs: 120,
        max_oracle_confidence_ppm: 50_000,
    }
}

/// A wallet with SOL for fees and rent, and a token account of the collateral mint.
pub struct Wallet {
    pub keypair: Keypair,
    pub token: Pubkey,
}

impl Wallet {
    pub fn pubkey(&self) -> Pubkey {
        self.keypair.pubkey()
    }
}

/// A created market, its local price feed and its order book.
#[derive(Clone, Copy, Debug)]
pub struct MarketFixture {
    pub index: u16,
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub order_book: Pubkey,
    pub registry: Pubkey,
    pub collateral_vault: Pubkey,
    pub insurance_vault: Pubkey,
    pub treasury: Pubkey,
}

impl MarketFixture {
    pub fn keys(&self) -> ix::MarketKeys {
        ix::MarketKeys {
            program_id: perps::ID,
            market: self.market,
            order_book: self.order_book,
            registry: self.registry,
            oracle: self.oracle,
            treasury: self.treasury,
        }
    }
}

pub struct TestContext {
    pub bank: ProgramTestContext,
    pub admin: Keypair,
    /// Pushes prices to every test price feed.
    pub oracle_authority: Keypair,
    pub mint: Pubkey,
    pub mint_authority: Keypair,
    pub treasury: Pubkey,
    /// Positions opened through the harness, per market, for the vault invariant.
    positions: Vec<(Pubkey, Pubkey)>,
    sent: HashSet<solana_signature::Signature>,
    meter: Option<Meter>,
}

/// One top-level perps instruction as the runtime ran it.
#[derive(Clone, Debug)]
pub struct Metered {
    /// The name Anchor logs (`Instruction: PlaceOrder`).
    pub instruction: String,
    /// The accounts the instruction names.
    pub accounts: usize,
    /// What the runtime logged the program consumed, its self-CPIs included.
    pub compute_units: u64,
    pub succeeded: bool,
}

#[derive(Default)]
struct Meter {
    records: Vec<Metered>,
    /// Where each record is also appended, one tab-separated line.
    log: Option<std::path::PathBuf>,
}

impl Meter {
    fn push(&mut self, record: Metered) {
        if let Some(path) = &self.log {
            use std::io::Write;
            let line = format!(
                "{}\t{}\t{}\t{}\n",
                record.instruction, record.accounts, record.compute_units, record.succeeded
            );
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(line.as_bytes()))
                .unwrap_or_else(|e| panic!("PERPS_CU_LOG {}: {e}", path.display()));
        }
        self.records.push(record);
    }

    /// Reads each top-level perps invocation's name and `consumed N of M` line from the logs.
    fn record(&mut self, tx: &Transaction, logs: &[String], succeeded: bool) {
        let keys = &tx.message.account_keys;
        let mut accounts = tx
            .message
            .instructions
            .iter()
            .filter(|ix| keys[ix.program_id_index as usize] == perps::ID)
            .map(|ix| ix.accounts.len());
        let program = perps::ID.to_string();
        // The programs invoked and not yet returned, outermost first.
        let mut stack: Vec<&str> = Vec::new();
        let mut name = String::new();
        for line in logs {
            let Some(rest) = line.strip_prefix("Program ") else {
                continue;
            };
            if let Some(instruction) = rest.strip_prefix("log: Instruction: ") {
                if stack.len() == 1 && name.is_empty() {
                    name = instruction.to_string();
                }
            } else if let Some((id, _)) = rest.split_once(" invoke [") {
                stack.push(id);
                if stack.len() == 1 {
                    name.clear();
                }
            } else if rest.ends_with(" success") || rest.contains(" failed: ") {
                stack.pop();
            } else if let Some(units) = rest
                .strip_prefix(&program)
                .and_then(|r| r.strip_prefix(" consumed "))
            {
                if stack.len() == 1 {
                    self.push(Metered {
                        instruction: name.clone(),
                        accounts: accounts.next().unwrap_or(0),
                        compute_units: units
                            .split_whitespace()
                            .next()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0),
                        succeeded,
                    });
                }
            }
        }
    }
}

impl TestContext {
    /// A bank with the program, a 6-decimal mint, a funded admin and a treasury token account.
    pub async fn new() -> Self {
        let program = ProgramTest::new("perps", perps::ID, processor!(process_instruction));
        // ProgramTest installs a debug-level logger; keep test output to errors unless RUST_LOG says.
        agave_logger::setup_with_default("error");
        let bank = program.start_with_context().await;
        let mut ctx = TestContext {
            bank,
            admin: Keypair::new(),
            oracle_authority: Keypair::new(),
            mint: Pubkey::default(),
            mint_authority: Keypair::new(),
            treasury: Pubkey::default(),
            positions: Vec::new(),
            sent: HashSet::new(),
            // PERPS_CU_LOG=<file>: every test's instructions, appended as they run (sbf/test.sh).
            meter: std::env::var_os("PERPS_CU_LOG").map(|path| Meter {
                records: Vec::new(),
                log: Some(path.into()),
            }),
        };
        let admin = ctx.admin.pubkey();
        let authority = ctx.oracle_authority.pubkey();
        ctx.airdrop(&admin, 100_000_000_000).await;
        ctx.airdrop(&authority, 1_000_000_000).await;
        ctx.mint = ctx.create_mint().await;
        ctx.treasury = ctx.create_token_account(&admin).await;
        ctx.set_upgrade_authority(Some(admin));
        ctx
    }

    /// Writes the program's data account as the upgradeable loader keeps it, naming `authority`
    /// as the upgrade authority (the program runs natively here, so the bank has none): bincode
    /// of `UpgradeableLoaderState::ProgramData { slot: 0, upgrade_authority_address }`.
    pub fn set_upgrade_authority(&mut self, authority: Option<Pubkey>) {
        let mut data = 3u32.to_le_bytes().to_vec();
        data.extend_from_slice(&0u64.to_le_bytes());
        match authority {
            Some(key) => {
                data.push(1);
                data.extend_from_slice(key.as_ref());
            }
            None => data.push(0),
        }
        let account = Account {
            lamports: 1_000_000_000,
            data,
            owner: anchor_lang::solana_program::bpf_loader_upgradeable::ID,
            executable: false,
            rent_epoch: 0,
        };
        self.bank
            .set_account(&pda::program_data(), &AccountSharedData::from(account));
    }

    /// `new`, then `initialize_exchange` with the default bounds.
    pub async fn with_exchange() -> Self {
        let mut ctx = Self::new().await;
        let instruction = ix::initialize_exchange(
            &ctx.admin.pubkey(),
            &ctx.mint,
            &ctx.treasury,
            default_bounds(),
        );
        ctx.send_by_admin(instruction)
            .await
            .expect("initialize_exchange");
        ctx
    }

    /// Sends one transaction paid by the bank's payer. A transaction identical to one already
    /// sent (ed25519 signatures are deterministic) waits for a fresh blockhash first, so the bank
    /// does not drop it as a duplicate.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> std::result::Result<(), TxError> {
        let tx = self.sign(instructions, signers).await;
        self.process(tx).await
    }

    /// `send`, returning the program's events in the order it emitted them, read from the
    /// transaction's inner instructions (the self-CPIs of Anchor's event-cpi) as an indexer reads
    /// them: the bank simulates the transaction for them, then processes it.
    pub async fn send_with_events(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> std::result::Result<Vec<perps_client::events::PerpsEvent>, TxError> {
        let tx = self.sign(instructions, signers).await;
        let simulation = self
            .bank
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .unwrap_or_else(|e| panic!("bank failure: {e}"));
        let keys = &tx.message.account_keys;
        let events = simulation
            .simulation_details
            .and_then(|details| details.inner_instructions)
            .unwrap_or_default()
            .iter()
            .flatten()
            .filter(|inner| keys[inner.instruction.program_id_index as usize] == perps::ID)
            .filter_map(|inner| perps_client::events::decode(&inner.instruction.data))
            .flatten()
            .collect();
        self.process(tx).await.map(|()| events)
    }

    /// Signs `instructions` with the bank's payer and `signers` on the latest blockhash (a fresh
    /// one when the same transaction was sent before).
    async fn sign(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Transaction {
        let payer = self.bank.payer.insecure_clone();
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|s| s.pubkey() != payer.pubkey()),
        );
        let sign = |blockhash| {
            Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &all, blockhash)
        };
        // The latest blockhash, not the one the bank started with: a run longer than about a
        // minute would otherwise sign with a hash past its processing age.
        self.bank.last_blockhash = self
            .bank
            .banks_client
            .get_latest_blockhash()
            .await
            .expect("blockhash");
        let mut tx = sign(self.bank.last_blockhash);
        if self.sent.contains(&tx.signatures[0]) {
            self.wait_for_new_blockhash().await;
            tx = sign(self.bank.last_blockhash);
        }
        self.sent.insert(tx.signatures[0]);
        tx
    }

    /// Executes and commits `tx` on the working bank at once; `process_transaction` would queue
    /// it and poll for its status, several milliseconds a transaction.
    async fn process(&mut self, tx: Transaction) -> std::result::Result<(), TxError> {
        let metered = self.meter.is_some().then(|| tx.clone());
        let processed = self
            .bank
            .banks_client
            .process_transaction_with_metadata(tx)
            .await
            .unwrap_or_else(|e| panic!("bank failure: {e}"));
        if let (Some(meter), Some(tx), Some(metadata)) =
            (&mut self.meter, metered, &processed.metadata)
        {
            meter.record(&tx, &metadata.log_messages, processed.result.is_ok());
        }
        processed.result
    }

    /// Records the compute units of every perps instruction sent from now on (meaningful when the
    /// program runs as SBF: `SBF_OUT_DIR`); `metered` returns them.
    pub fn start_metering(&mut self) {
        self.meter = Some(Meter::default());
    }

    /// The instructions metered since `start_metering`, oldest first.
    pub fn metered(&self) -> &[Metered] {
        self.meter.as_ref().map_or(&[], |meter| &meter.records)
    }

    /// Waits for a blockhash newer than `last_blockhash`, which becomes it. The bank registers
    /// one every slot (6.4 ms in solana-program-test); polled every millisecond, where
    /// `ProgramTestContext::get_new_latest_blockhash` sleeps 200 ms between polls.
    async fn wait_for_new_blockhash(&mut self) {
        let stale = self.bank.last_blockhash;
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let blockhash = self
                .bank
                .banks_client
                .get_latest_blockhash()
                .await
                .expect("blockhash");
            if blockhash != stale {
                self.bank.last_blockhash = blockhash;
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the bank registered no new blockhash for 5 s"
            );
        }
    }

    pub async fn send_by_admin(
        &mut self,
        instruction: Instruction,
    ) -> std::result::Result<(), TxError> {
        let admin = self.admin.insecure_clone();
        self.send(&[instruction], &[&admin]).await
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let payer = self.bank.payer.pubkey();
        let transfer = solana_system_interface::instruction::transfer(&payer, to, lamports);
        self.send(&[transfer], &[]).await.expect("airdrop");
    }

    /// A new 6-decimal mint whose authority is `mint_authority`.
    pub async fn create_mint(&mut self) -> Pubkey {
        let mint = Keypair::new();
        let initialize = spl_token_interface::instruction::initialize_mint2(
            &spl_token_interface::ID,
            &mint.pubkey(),
            &self.mint_authority.pubkey(),
            None,
            USDC_DECIMALS,
        )
        .unwrap();
        let len = spl_token_interface::state::Mint::LEN;
        self.create_token_program_account(&mint, len, initialize)
            .await
    }

    /// A token account of `mint` owned by `owner`.
    pub async fn create_token_account_of(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let initialize = spl_token_interface::instruction::initialize_account3(
            &spl_token_interface::ID,
            &account.pubkey(),
            mint,
            owner,
        )
        .unwrap();
        let len = spl_token_interface::state::Account::LEN;
        self.create_token_program_account(&account, len, initialize)
            .await
    }

    /// Creates `account` (rent-exempt, `len` bytes, owned by the token program) and runs
    /// `initialize` on it in the same transaction.
    async fn create_token_program_account(
        &mut self,
        account: &Keypair,
        len: usize,
        initialize: Instruction,
    ) -> Pubkey {
        let rent = self.rent().await.minimum_balance(len);
        let create = solana_system_interface::instruction::create_account(
            &self.bank.payer.pubkey(),
            &account.pubkey(),
            rent,
            len as u64,
            &spl_token_interface::ID,
        );
        self.send(&[create, initialize], &[account])
            .await
            .expect("create a token program account");
        account.pubkey()
    }

    pub async fn create_token_account(&mut self, owner: &Pubkey) -> Pubkey {
        let mint = self.mint;
        self.create_token_account_of(&mint, owner).await
    }

    pub async fn mint_to(&mut self, account: &Pubkey, amount: u64) {
        let authority = self.mint_authority.insecure_clone();
        let mint_to = spl_token_interface::instruction::mint_to(
            &spl_token_interface::ID,
            &self.mint,
            account,
            &authority.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        self.send(&[mint_to], &[&authority]).await.expect("mint_to");
    }

    /// A new wallet with 1 SOL and `collateral` atoms of the mint.
    pub async fn wallet(&mut self, collateral: u64) -> Wallet {
        self.wallet_of(Keypair::new(), collateral).await
    }

    /// `wallet` with a given key (the simulator derives its keys from a seed, so that ADL ties,
    /// broken by address, repeat from run to run).
    pub async fn wallet_of(&mut self, keypair: Keypair, collateral: u64) -> Wallet {
        self.airdrop(&keypair.pubkey(), 1_000_000_000).await;
        let token = self.create_token_account(&keypair.pubkey()).await;
        if collateral > 0 {
            self.mint_to(&token, collateral).await;
        }
        Wallet { keypair, token }
    }

    pub async fn rent(&mut self) -> Rent {
        self.bank.banks_client.get_rent().await.expect("rent")
    }

    pub async fn account(&mut self, key: &Pubkey) -> Option<Account> {
        self.bank
            .banks_client
            .get_account(*key)
            .await
            .expect("get_account")
    }

    pub async fn lamports(&mut self, key: &Pubkey) -> u64 {
        self.account(key).await.map_or(0, |a| a.lamports)
    }

    pub async fn token_balance(&mut self, key: &Pubkey) -> u64 {
        let account = self.account(key).await.expect("token account exists");
        spl_token_interface::state::Account::unpack(&account.data)
            .expect("token account")
            .amount
    }

    pub async fn exchange(&mut self) -> Exchange {
        let data = self.account(&pda::exchange()).await.expect("exchange").data;
        decode::exchange(&data).expect("decode exchange")
    }

    pub async fn market(&mut self, key: &Pubkey) -> Market {
        let data = self.account(key).await.expect("market").data;
        decode::market(&data).expect("decode market")
    }

    pub async fn position(&mut self, market: &Pubkey, owner: &Pubkey) -> Position {
        let data = self
            .account(&pda::position(market, owner))
            .await
            .expect("position")
            .data;
        decode::position(&data).expect("decode position")
    }

    pub async fn price_feed(&mut self, key: &Pubkey) -> PriceFeed {
        let data = self.account(key).await.expect("feed").data;
        decode::price_feed(&data).expect("decode feed")
    }

    pub async fn clock(&mut self) -> Clock {
        self.bank
            .banks_client
            .get_sysvar::<Clock>()
            .await
            .expect("clock")
    }

    /// Moves the cluster clock `seconds` forward (for staleness).
    pub async fn advance_clock(&mut self, seconds: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp += seconds;
        self.bank.set_sysvar(&clock);
    }

    /// Creates the price feed for market `index`, pushes `price` (expo −8) and creates the market.
    pub async fn create_market_with(&mut self, params: MarketParams, price: i64) -> MarketFixture {
        self.create_market_sized(params, price, REGISTRY_CAPACITY)
            .await
    }

    /// `create_market_with` with a registry of `capacity` positions.
    pub async fn create_market_sized(
        &mut self,
        params: MarketParams,
        price: i64,
        capacity: u32,
    ) -> MarketFixture {
        let index = self.exchange().await.market_count;
        let market = pda::market(index);
        let oracle = pda::price_feed(&market);
        let authority = self.oracle_authority.pubkey();
        self.send_by_admin(ix::create_price_feed(
            &self.admin.pubkey(),
            index,
            &authority,
            FEED_EXPO,
        ))
        .await
        .expect("create_price_feed");
        self.set_price(&oracle, price, 0).await.expect("set_price");
        let create = ix::create_market(
            &self.admin.pubkey(),
            &self.mint,
            index,
            &oracle,
            perps_client::symbol("BTC-PERP"),
            params,
        );
        self.send_by_admin(create).await.expect("create_market");
        let order_book = self.create_order_book(&market).await;
        let registry = self.create_registry(&market, capacity).await;
        MarketFixture {
            index,
            market,
            oracle,
            order_book,
            registry,
            collateral_vault: pda::collateral_vault(&market),
            insurance_vault: pda::insurance_vault(&market),
            treasury: self.treasury,
        }
    }

    /// Creates a zeroed order book account and has the admin adopt it for `market`.
    pub async fn create_order_book(&mut self, market: &Pubkey) -> Pubkey {
        let book = Keypair::new();
        let adopt = ix::initialize_order_book(&self.admin.pubkey(), market, &book.pubkey());
        self.create_program_account(book, ix::ORDER_BOOK_SPACE, adopt)
            .await
            .expect("order book")
    }

    /// Creates a zeroed registry account for `capacity` positions and has the admin adopt it
    /// for `market`.
    pub async fn create_registry(&mut self, market: &Pubkey, capacity: u32) -> Pubkey {
        let registry = Keypair::new();
        let adopt =
            ix::initialize_position_registry(&self.admin.pubkey(), market, &registry.pubkey());
        self.create_program_account(registry, registry_account_size(capacity), adopt)
            .await
            .expect("position registry")
    }

    /// Creates `account` (rent-exempt, owned by the program) and sends `adopt`, signed by the
    /// admin, in the same transaction.
    pub async fn create_program_account(
        &mut self,
        account: Keypair,
        space: usize,
        adopt: Instruction,
    ) -> std::result::Result<Pubkey, TxError> {
        let lamports = self.rent().await.minimum_balance(space);
        let payer = self.bank.payer.pubkey();
        let admin = self.admin.insecure_clone();
        self.send(
            &[
                ix::create_program_account(&payer, &account.pubkey(), space, lamports),
                adopt,
            ],
            &[&account, &admin],
        )
        .await?;
        Ok(account.pubkey())
    }

    pub async fn registry(&mut self, key: &Pubkey) -> decode::Registry {
        let data = self.account(key).await.expect("registry").data;
        decode::registry(&data).expect("decode registry")
    }

    pub async fn order_book(&mut self, key: &Pubkey) -> Box<perps::state::OrderBook> {
        let data = self.account(key).await.expect("order book").data;
        decode::order_book(&data).expect("decode order book")
    }

    /// Places an order with the maker accounts it reaches, read off the book as a client would.
    pub async fn place(
        &mut self,
        m: &MarketFixture,
        trader: &Wallet,
        args: perps_client::PlaceOrderArgs,
    ) -> std::result::Result<(), TxError> {
        let instruction = self.order(m, trader, args).await;
        self.send(&[instruction], &[&trader.keypair]).await
    }

    /// `place`, returning the events it emitted.
    pub async fn place_with_events(
        &mut self,
        m: &MarketFixture,
        trader: &Wallet,
        args: perps_client::PlaceOrderArgs,
    ) -> std::result::Result<Vec<perps_client::events::PerpsEvent>, TxError> {
        let instruction = self.order(m, trader, args).await;
        self.send_with_events(&[instruction], &[&trader.keypair])
            .await
    }

    /// A `place_order` instruction with the makers it reaches: only those, not an evicted maker
    /// (`book::order_accounts` adds it), so the tests of a full book side see
    /// `MissingEvictedAccount` through it.
    pub async fn order(
        &mut self,
        m: &MarketFixture,
        trader: &Wallet,
        args: perps_client::PlaceOrderArgs,
    ) -> Instruction {
        let book = self.order_book(&m.order_book).await;
        let taker = pda::position(&m.market, &trader.pubkey());
        let makers = perps_client::book::makers_in_reach(
            &book,
            &taker,
            args.side.into(),
            perps_engine::Price(args.price),
            args.lots,
        );
        ix::place_order(&trader.pubkey(), &m.keys(), args, &makers)
    }

    /// Opens exposure through the book: `maker` rests `lots` at `price` on the side opposite
    /// `taker_side`, and `taker` takes them immediate-or-cancel.
    pub async fn cross(
        &mut self,
        m: &MarketFixture,
        maker: &Wallet,
        taker: &Wallet,
        taker_side: perps_client::OrderSide,
        price: u64,
        lots: u64,
    ) {
        use perps_client::{OrderSide, OrderType};
        let maker_side = match taker_side {
            OrderSide::Bid => OrderSide::Ask,
            OrderSide::Ask => OrderSide::Bid,
        };
        self.place(
            m,
            maker,
            order(maker_side, price, lots, OrderType::PostOnly),
        )
        .await
        .expect("maker order");
        let take = order(taker_side, price, lots, OrderType::ImmediateOrCancel);
        self.place(m, taker, take).await.expect("taker order");
    }

    /// Cranks funding (permissionless) and settles every harness position's funding.
    pub async fn settle_all_funding(&mut self, m: &MarketFixture) {
        for (market, owner) in self.positions.clone() {
            if market == m.market {
                let position = pda::position(&market, &owner);
                if self.account(&position).await.is_some() {
                    self.send(&[ix::settle_funding(&market, &position)], &[])
                        .await
                        .expect("settle_funding");
                }
            }
        }
    }

    /// A default market with BTC at 60,000.
    pub async fn create_market(&mut self) -> MarketFixture {
        self.create_market_with(default_params(), btc(60_000)).await
    }

    pub async fn set_price(
        &mut self,
        feed: &Pubkey,
        price: i64,
        conf: u64,
    ) -> std::result::Result<(), TxError> {
        let authority = self.oracle_authority.insecure_clone();
        self.send(
            &[ix::set_price(&authority.pubkey(), feed, price, conf)],
            &[&authority],
        )
        .await
    }

    pub async fn open_position(
        &mut self,
        market: &MarketFixture,
        owner: &Wallet,
    ) -> std::result::Result<(), TxError> {
        let result = self
            .send(
                &[ix::open_position(
                    &owner.pubkey(),
                    &market.market,
                    &market.registry,
                )],
                &[&owner.keypair],
            )
            .await;
        if result.is_ok() {
            self.positions.push((market.market, owner.pubkey()));
        }
        result
    }

    pub async fn deposit(
        &mut self,
        market: &MarketFixture,
        owner: &Wallet,
        amount: u64,
    ) -> std::result::Result<(), TxError> {
        self.send(
            &[ix::deposit(
                &owner.pubkey(),
                &market.market,
                &owner.token,
                amount,
            )],
            &[&owner.keypair],
        )
        .await
    }

    pub async fn withdraw(
        &mut self,
        market: &MarketFixture,
        owner: &Wallet,
        amount: u64,
    ) -> std::result::Result<(), TxError> {
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

    /// The collateral of each wallet's position in `m`, in order.
    pub async fn collaterals(&mut self, m: &MarketFixture, wallets: &[&Wallet]) -> Vec<i64> {
        let mut out = Vec::new();
        for w in wallets {
            out.push(self.position(&m.market, &w.pubkey()).await.collateral);
        }
        out
    }

    /// A wallet with a position in `market` holding `collateral` (and `extra` more in its wallet).
    pub async fn funded_position(
        &mut self,
        market: &MarketFixture,
        collateral: u64,
        extra: u64,
    ) -> Wallet {
        let owner = self.wallet(collateral + extra).await;
        self.open_position(market, &owner)
            .await
            .expect("open_position");
        if collateral > 0 {
            self.deposit(market, &owner, collateral)
                .await
                .expect("deposit");
        }
        owner
    }

    /// Writes a Pyth `PriceUpdateV2` account owned by the Pyth receiver at `key`.
    pub fn set_pyth_update(
        &mut self,
        key: &Pubkey,
        update: &pyth_solana_receiver_sdk::price_update::PriceUpdateV2,
    ) {
        let mut data = Vec::new();
        update
            .try_serialize(&mut data)
            .expect("serialize price update");
        let account = Account {
            lamports: 10_000_000,
            data,
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        };
        self.bank
            .set_account(key, &AccountSharedData::from(account));
    }

    /// DESIGN.md §12.1–12.2 as they hold here (see `invariants`), over every position the
    /// harness opened in `market` and the market's ADL book, with the registry listing each of
    /// those positions.
    pub async fn assert_vault_matches_positions(&mut self, market: &MarketFixture) {
        let m = self.market(&market.market).await;
        let positions = self.positions_of(market).await;
        let vault = self.token_balance(&market.collateral_vault).await;
        let registry = self.registry(&market.registry).await;
        if let Err(breach) = invariants::vault_matches_positions(&m, &positions, vault)
            .and_then(|()| invariants::open_interest_balanced(&m, &positions))
            .and_then(|()| invariants::adl_book_matches_market(&m))
            .and_then(|()| invariants::registry_lists_every_position(&registry, &positions))
        {
            panic!("{breach}");
        }
    }

    /// `m`'s oracle price now, read as the program reads it for a liquidation.
    pub async fn oracle_price(
        &mut self,
        m: &MarketFixture,
        market: &Market,
    ) -> perps_engine::Price {
        let account = self.account(&m.oracle).await.expect("oracle");
        let now = self.clock().await.unix_timestamp;
        perps_client::oracle::oracle_price(
            &m.market,
            market,
            &account.owner,
            &account.data,
            now,
            perps_engine::OracleUse::Liquidation,
        )
        .expect("oracle price")
    }

    /// Drives `m`'s ADL to its end as a keeper would (`perps_client::adl::next_adl_step` at the
    /// feed's price): ranking chunks, then fills down the ranking, sweep after sweep, asserting
    /// after each ranking that it is the top of every eligible position. Stops when the market
    /// leaves ADL or has nothing to do; returns what it sent.
    pub async fn run_adl(&mut self, m: &MarketFixture) -> AdlRun {
        use perps_client::adl::{next_adl_step, AdlStep};
        let mut run = AdlRun::default();
        for _ in 0..1_000 {
            let market = self.market(&m.market).await;
            let registry = self.registry(&m.registry).await;
            let positions = self.positions_of(m).await;
            let price = self.oracle_price(m, &market).await;
            let insurance = self.token_balance(&m.insurance_vault).await;
            match next_adl_step(&m.keys(), &market, &registry, &positions, price, insurance) {
                AdlStep::Wait => return run,
                AdlStep::Rank(chunks) => {
                    run.sweeps += 1;
                    for chunk in chunks {
                        run.rank_transactions += 1;
                        run.positions_ranked +=
                            perps_client::adl::positions_in_chunk(&chunk) as u64;
                        self.send(&[chunk], &[]).await.expect("rank_adl_candidates");
                    }
                    let market = self.market(&m.market).await;
                    let registry = self.registry(&m.registry).await;
                    invariants::ranking_is_the_top_of_every_eligible_position(
                        &market, &registry, &positions,
                    )
                    .unwrap_or_else(|breach| panic!("{breach}"));
                }
                AdlStep::Fill(steps) => {
                    for step in steps {
                        run.adl_transactions += 1;
                        self.send(&[step], &[]).await.expect("adl");
                    }
                }
            }
        }
        panic!("ADL did not settle in 1,000 keeper passes");
    }

    /// Every position the harness opened in `m` that still exists, decoded, as a keeper would
    /// read them with getProgramAccounts.
    pub async fn positions_of(&mut self, m: &MarketFixture) -> Vec<(Pubkey, Position)> {
        let mut out = Vec::new();
        for (market, owner) in self.positions.clone() {
            if market == m.market {
                let key = pda::position(&market, &owner);
                if let Some(account) = self.account(&key).await {
                    out.push((key, decode::position(&account.data).expect("decode")));
                }
            }
        }
        out
    }

    /// The admin sets `m`'s status.
    pub async fn set_status(
        &mut self,
        m: &MarketFixture,
        status: MarketStatus,
    ) -> std::result::Result<(), TxError> {
        let instruction = ix::set_market_status(&self.admin.pubkey(), &m.market, &m.oracle, status);
        self.send_by_admin(instruction).await
    }

    /// The admin replaces `m`'s parameters.
    pub async fn update_params(
        &mut self,
        m: &MarketFixture,
        params: MarketParams,
    ) -> std::result::Result<(), TxError> {
        let instruction = ix::update_market_params(&self.admin.pubkey(), &m.market, params);
        self.send_by_admin(instruction).await
    }

    /// `liquidator` liquidates `target`'s position in `m`, taking its lots into its own.
    pub async fn liquidate(
        &mut self,
        m: &MarketFixture,
        liquidator: &Wallet,
        target: &Wallet,
    ) -> std::result::Result<(), TxError> {
        let position = pda::position(&m.market, &target.pubkey());
        self.send(
            &[ix::liquidate(&liquidator.pubkey(), &m.keys(), &position)],
            &[&liquidator.keypair],
        )
        .await
    }

    /// A donor wallet adds `amount` to `m`'s insurance vault.
    pub async fn fund_insurance(&mut self, m: &MarketFixture, amount: u64) {
        let donor = self.wallet(amount).await;
        let fund = ix::fund_insurance(&donor.pubkey(), &m.market, &donor.token, amount);
        self.send(&[fund], &[&donor.keypair])
            .await
            .expect("fund_insurance");
    }

    pub async fn status(&mut self, market: &Pubkey) -> MarketStatus {
        MarketStatus::try_from(self.market(market).await.status).expect("status")
    }
}

/// Asserts that the market events among `events` (those with an `EventHeader`) are numbered
/// `after + 1, after + 2, …` in the order emitted, all of `market`, and returns the last number.
pub fn assert_sequenced(
    events: &[perps_client::events::PerpsEvent],
    market: &Pubkey,
    after: u64,
) -> u64 {
    let mut last = after;
    for header in events.iter().filter_map(|event| event.header()) {
        assert_eq!(header.market, *market, "an event of another market");
        assert_eq!(header.sequence, last + 1, "events out of sequence");
        last = header.sequence;
    }
    last
}

/// What `TestContext::run_adl` sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdlRun {
    pub sweeps: u32,
    pub rank_transactions: u32,
    pub positions_ranked: u64,
    pub adl_transactions: u32,
}

/// A default market where Alice is long `lots` at 60 USDC a lot with exactly `collateral` (she
/// is the maker: her deposit is the collateral less the 1 bp rebate), Bob short against her and
/// Carol a liquidator, both with 20,000 USDC.
pub async fn leveraged_long(
    lots: u64,
    collateral: u64,
) -> (TestContext, MarketFixture, Wallet, Wallet, Wallet) {
    const P: u64 = 60 * USDC;
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let rebate = lots * P / 10_000;
    let alice = ctx.funded_position(&m, collateral - rebate, 0).await;
    let bob = ctx.funded_position(&m, 20_000 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 20_000 * USDC, 0).await;
    ctx.cross(&m, &alice, &bob, perps_client::OrderSide::Ask, P, lots)
        .await;
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.collateral,
        collateral as i64
    );
    (ctx, m, alice, bob, carol)
}

/// A plain order: not reduce-only, client order id 0.
pub fn order(
    side: perps_client::OrderSide,
    price: u64,
    lots: u64,
    order_type: perps_client::OrderType,
) -> perps_client::PlaceOrderArgs {
    perps_client::PlaceOrderArgs {
        side,
        price,
        lots,
        order_type,
        reduce_only: false,
        client_order_id: 0,
    }
}

/// A BTC price in the feed's units (expo −8).
pub fn btc(usd: i64) -> i64 {
    usd * 100_000_000
}

/// The custom error code Anchor gives a program error.
pub fn perps_code(error: PerpsError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + error as u32
}

/// Asserts that a transaction failed with the named program error.
pub fn assert_perps_error(result: std::result::Result<(), TxError>, expected: PerpsError) {
    assert_custom_code(result, perps_code(expected), &format!("{expected:?}"));
}

/// Asserts that a transaction failed with the named Anchor framework error.
pub fn assert_anchor_error(
    result: std::result::Result<(), TxError>,
    expected: anchor_lang::error::ErrorCode,
) {
    assert_custom_code(result, expected as u32, &format!("{expected:?}"));
}

fn assert_custom_code(result: std::result::Result<(), TxError>, code: u32, name: &str) {
    match result {
        Err(TxError::InstructionError(_, InstructionError::Custom(got))) if got == code => {}
        other => panic!("expected {name} ({code}), got {other:?}"),
    }
}
