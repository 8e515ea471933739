//! Prints the compute-unit table of the engine's hot paths. Run by `bash bench/cu.sh`, which
//! builds the program first.

use perps_bench_sbf::cases::Path;
use perps_cu::{cases, Case, Meter};

fn label(path: Path) -> &'static str {
    match path {
        Path::Noop => "entrypoint baseline (no-op)",
        Path::MarginCheck => "margin check of one position",
        Path::PartialLiquidation => "partial liquidation sizing",
        Path::BankruptcyPrice => "bankruptcy price",
        Path::Adl => "ADL",
        Path::Match => "match a taker against K makers (book 512 a side)",
        Path::InsertWorst => "insert an ask behind 511 (full book, all shift)",
        Path::InsertBest => "insert an ask ahead of 511 (nothing shifts)",
        Path::CancelWorst => "cancel the worst ask by id (full book, 511 shift)",
        Path::CancelBest => "cancel the best ask by id (full book, whole scan)",
        Path::CancelAll => "cancel all 32 orders of a maker (full book)",
        Path::Funding => "funding update (mark, rate, index, one settlement)",
    }
}

fn input(case: Case) -> String {
    match case.path {
        Path::Adl => format!("N = {}", case.size),
        Path::Match => format!("K = {}", case.size),
        Path::Noop => "-".into(),
        path if path.book().is_some() => "512 a side".into(),
        _ => "1 position".into(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let so = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: perps-cu PROGRAM.so   (bash bench/cu.sh builds it and runs this)");
        std::process::exit(2);
    });
    let elf = std::fs::read(&so).unwrap_or_else(|e| {
        eprintln!("cannot read {so}: {e}");
        std::process::exit(1);
    });
    // The bank logs every instruction at debug level; the table is the output.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let mut meter = Meter::start(elf).await;
    println!("| path | input | CU (net) | CU (instruction) |");
    println!("|---|---|---:|---:|");
    for case in cases() {
        let units = meter.stages(case).await.unwrap_or_else(|e| {
            eprintln!("{case:?} failed: {e}");
            std::process::exit(1);
        });
        let last = *units.last().expect("stage 0 at least");
        if case.path == Path::Adl {
            for (step, name) in [
                "sweep: eligibility and score",
                "sweep: ranking insertion",
                "fills down the ranking",
                "sweep: below a full ranking's cut",
            ]
            .iter()
            .enumerate()
            {
                let net = units[step + 1] - units[step];
                println!("| ADL {name} | {} | {net} | |", input(case));
            }
        }
        let net = if case.path == Path::Noop {
            last
        } else {
            last - units[0]
        };
        let name = match case.path {
            Path::Adl => "ADL total (the four stages)",
            path => label(path),
        };
        println!("| {name} | {} | {net} | {last} |", input(case));
    }
}
