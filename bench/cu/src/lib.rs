//! Meters the engine's hot paths on a real SBF VM: the benchmark program (`bench/sbf`, built by
//! `bench/build-sbf.sh`) is loaded into solana-program-test's bank as a BPF-loader program and
//! each case is simulated with a 1.4M compute-unit limit; a case's figure is what the runtime
//! logs for the program's instruction (`Program … consumed N of M compute units`).

// solana-program-test 3.x marks its whole API "unstable" (a deprecation warning); it is the bank
// we meter in.
#![allow(deprecated)]

use std::path::PathBuf;

use perps_bench_sbf::cases::{instruction_data, BookFixture, Path};
use perps_bench_sbf::fixtures;
use perps_engine::Book;
use solana_account::Account;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_program_test::{BanksClient, ProgramTest};
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// The transaction compute-unit limit, requested by every case.
pub const TRANSACTION_CU_LIMIT: u32 = 1_400_000;
/// One SOL: more than the rent-exempt minimum of the program and of a book (0.52 SOL).
const ACCOUNT_LAMPORTS: u64 = 1_000_000_000;
/// ADL candidate counts and maker counts the table covers.
pub const ADL_SIZES: [u16; 4] = [8, 16, 32, 48];
pub const MATCH_SIZES: [u16; 4] = [1, 5, 10, 20];

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folder bench/build-sbf.sh unpacks the toolchain into.
pub fn toolchain_dir() -> PathBuf {
    root().join(".sbf/toolchain")
}

/// The script that builds the program.
pub fn build_script() -> PathBuf {
    root().join("bench/build-sbf.sh")
}

/// One row of the measurement: a path at one input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub path: Path,
    /// 0 for the paths that take no size.
    pub size: u16,
}

/// Every case of the table, in its order.
pub fn cases() -> Vec<Case> {
    let plain = |path| Case { path, size: 0 };
    let mut cases = vec![
        plain(Path::Noop),
        plain(Path::MarginCheck),
        plain(Path::PartialLiquidation),
        plain(Path::BankruptcyPrice),
    ];
    cases.extend(ADL_SIZES.map(|size| Case {
        path: Path::Adl,
        size,
    }));
    cases.extend(MATCH_SIZES.map(|size| Case {
        path: Path::Match,
        size,
    }));
    cases.extend(
        [
            Path::InsertWorst,
            Path::InsertBest,
            Path::CancelWorst,
            Path::CancelBest,
            Path::CancelAll,
            Path::Funding,
        ]
        .map(plain),
    );
    cases
}

/// A book fixture, built natively with the engine.
pub fn book(fixture: BookFixture) -> Box<Book> {
    let mut book = bytemuck::zeroed_box::<Book>();
    fixtures::fill_book(&mut book, fixture.asks());
    book
}

/// The bank with the program and the two book accounts, ready to simulate cases.
pub struct Meter {
    banks: BanksClient,
    payer: Keypair,
    program_id: Pubkey,
    full_book: Pubkey,
    ask_room_book: Pubkey,
}

impl Meter {
    /// Starts a bank with `elf` as a BPF-loader program.
    pub async fn start(elf: Vec<u8>) -> Meter {
        let program_id = Pubkey::new_unique();
        let mut test = ProgramTest::default();
        test.add_account(
            program_id,
            Account {
                lamports: ACCOUNT_LAMPORTS,
                data: elf,
                owner: solana_sdk_ids::bpf_loader::id(),
                executable: true,
                rent_epoch: 0,
            },
        );
        let (full_book, ask_room_book) = (Pubkey::new_unique(), Pubkey::new_unique());
        for (key, fixture) in [
            (full_book, BookFixture::Full),
            (ask_room_book, BookFixture::AskRoom),
        ] {
            let data = bytemuck::bytes_of(&*book(fixture)).to_vec();
            test.add_account(
                key,
                Account {
                    lamports: ACCOUNT_LAMPORTS,
                    data,
                    owner: program_id,
                    executable: false,
                    rent_epoch: 0,
                },
            );
        }
        let (banks, payer, _) = test.start().await;
        Meter {
            banks,
            payer,
            program_id,
            full_book,
            ask_room_book,
        }
    }

    /// The compute units the program's instruction consumed at `stage` of `case`, or why it failed.
    pub async fn units(&mut self, case: Case, stage: u8) -> Result<u64, String> {
        let accounts = match case.path.book() {
            Some(BookFixture::Full) => vec![AccountMeta::new(self.full_book, false)],
            Some(BookFixture::AskRoom) => vec![AccountMeta::new(self.ask_room_book, false)],
            None => vec![],
        };
        let instructions = [
            ComputeBudgetInstruction::set_compute_unit_limit(TRANSACTION_CU_LIMIT),
            Instruction {
                program_id: self.program_id,
                accounts,
                data: instruction_data(case.path, stage, case.size).to_vec(),
            },
        ];
        let blockhash = self
            .banks
            .get_latest_blockhash()
            .await
            .map_err(|e| e.to_string())?;
        let transaction = Transaction::new_signed_with_payer(
            &instructions,
            Some(&self.payer.pubkey()),
            &[&self.payer],
            blockhash,
        );
        let simulation = self
            .banks
            .simulate_transaction(transaction)
            .await
            .map_err(|e| e.to_string())?;
        let logs = simulation
            .simulation_details
            .map(|details| details.logs)
            .unwrap_or_default();
        match simulation.result {
            Some(Ok(())) => {}
            Some(Err(error)) => return Err(format!("{error}: {logs:?}")),
            None => return Err("not simulated".into()),
        }
        let consumed = format!("Program {} consumed ", self.program_id);
        logs.iter()
            .find_map(|line| {
                let rest = line.strip_prefix(&consumed)?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .ok_or_else(|| format!("no compute-unit line in the logs: {logs:?}"))
    }

    /// The figure of every stage of `case`, from stage 0 (inputs only) to its last.
    pub async fn stages(&mut self, case: Case) -> Result<Vec<u64>, String> {
        let mut units = Vec::new();
        for stage in 0..=case.path.stages() {
            units.push(self.units(case, stage).await?);
        }
        Ok(units)
    }
}
