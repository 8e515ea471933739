//! `perps-sim`: plays a scenario through the real program in an embedded bank.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use perps_sim::{chart, load_scenario, report, Outcome, Simulation};

#[derive(Parser)]
#[command(
    version,
    about = "Stress simulator: a market crash played through the perps program in an embedded bank"
)]
struct Cli {
    /// A built-in scenario (crash, calm, squeeze) or a scenario TOML file.
    #[arg(long, default_value = "crash")]
    scenario: String,
    /// Overrides the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides the scenario's trader count.
    #[arg(long)]
    traders: Option<u32>,
    /// Overrides the scenario's step count (the price path keeps its shape).
    #[arg(long)]
    steps: Option<u32>,
    /// Where the CSV timeline, the chart and the summary go [default: sim-output/<scenario>-seed<seed>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Prints the keeper's log (one line per action) to stderr instead of the progress bar.
    #[arg(long)]
    keeper_log: bool,
}

// One thread: the simulator awaits the bank's server task at every read and transaction, and on
// a multi-threaded runtime each of those round trips wakes another worker thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // solana-program-test logs at info level unless told otherwise.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("perps-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.keeper_log {
        tracing_subscriber::fmt()
            .with_env_filter("perps_keeper=info")
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .init();
    }
    let mut scenario = load_scenario(&cli.scenario)?;
    scenario.seed = cli.seed.unwrap_or(scenario.seed);
    scenario.traders.count = cli.traders.unwrap_or(scenario.traders.count);
    scenario.steps = cli.steps.unwrap_or(scenario.steps);
    let out = cli.out.unwrap_or_else(|| {
        PathBuf::from("sim-output").join(format!("{}-seed{}", scenario.name, scenario.seed))
    });
    std::fs::create_dir_all(&out)?;
    println!("{}: {}", scenario.name, scenario.description);

    // The program's logs (natively, `msg!` prints) are not the report: held back until it is.
    let quiet = gag::Gag::stdout()?;
    let setup = ProgressBar::new_spinner().with_message(format!(
        "starting the bank, funding {} traders and {} market makers",
        scenario.traders.count, scenario.market_makers.count
    ));
    setup.enable_steady_tick(std::time::Duration::from_millis(120));
    let mut sim = Simulation::new(scenario).await?;
    setup.finish_and_clear();

    let bar = if cli.keeper_log {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(sim.steps() as u64)
    };
    let bar = bar.with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40.cyan/blue}] {pos}/{len} steps  {msg}",
        )?
        .progress_chars("=> "),
    );
    let outcome = sim
        .run(|step, row| {
            bar.set_position(step as u64);
            bar.set_message(format!(
                "${:.0}  liquidations {}  ADL fills {}{}",
                row.oracle_usd,
                row.liquidations,
                row.adl_fills,
                if row.adl_pending {
                    "  (ADL pending)"
                } else {
                    ""
                }
            ));
        })
        .await?;
    bar.finish_and_clear();
    drop(quiet);

    let csv = out.join("timeline.csv");
    report::write_csv(&csv, &sim.timeline)?;
    let png = out.join("chart.png");
    let title = format!(
        "perps-sim: {} (seed {}, {} traders)",
        sim.scenario.name, sim.scenario.seed, sim.scenario.traders.count
    );
    chart::draw(&png, &title, &sim.timeline, sim.lots_per_base())?;
    let text = format!("{}\n{}", sim.summary, sim.throughput);
    std::fs::write(out.join("summary.txt"), &text)?;
    println!("\n{text}");
    println!(
        "  timeline: {}\n  chart:    {}",
        csv.display(),
        png.display()
    );
    match outcome {
        Outcome::Completed => Ok(ExitCode::SUCCESS),
        Outcome::Breach { step, breach } => {
            eprintln!("\nINVARIANT BROKEN after step {step}: {breach}");
            eprintln!("the run stopped there; the timeline and chart cover the steps played");
            Ok(ExitCode::from(2))
        }
    }
}
