//! Short versions of every shipped scenario, played through the real program in the bank.

use perps_sim::{load_scenario, Outcome, Scenario, Simulation, BUILT_IN};

/// A scenario cut to `steps` steps and `traders` traders (the price path keeps its shape).
fn short(name: &str, steps: u32, traders: u32) -> Scenario {
    let mut scenario = load_scenario(name).expect("built-in scenario");
    scenario.steps = steps;
    scenario.traders.count = traders;
    scenario
}

async fn play(scenario: Scenario) -> Simulation {
    let mut sim = Simulation::new(scenario).await.expect("setup");
    let outcome = sim.run(|_, _| {}).await.expect("run");
    assert!(
        matches!(outcome, Outcome::Completed),
        "{}: {outcome:?}\n{}",
        sim.scenario.name,
        sim.summary
    );
    assert_eq!(sim.summary.steps_held, sim.scenario.steps as u64);
    assert_eq!(sim.timeline.len(), sim.scenario.steps as usize);
    sim
}

/// Every time the market entered ADL, ADL closed the book, bar the one still open at the end;
/// every sweep that started was ranked (or the book closed or changed sides first), in chunks.
fn assert_adl_accounted(s: &perps_sim::report::Summary) {
    assert_eq!(
        s.adl_started,
        s.adl_completed + s.adl_open_at_end as u64,
        "{s}"
    );
    assert!(s.sweeps_ranked <= s.sweeps_started, "{s}");
    assert!(s.sweeps_started >= s.adl_started, "{s}");
    assert!(s.rank_transactions >= s.sweeps_ranked, "{s}");
    assert!(s.positions_ranked >= s.rank_transactions, "{s}");
    assert!(
        s.steps_in_adl_without_candidate <= s.steps_ending_in_adl,
        "{s}"
    );
}

#[tokio::test]
async fn crash_with_thin_insurance_goes_through_adl_and_every_invariant_holds() {
    let sim = play(short("crash", 50, 60)).await;
    let s = &sim.summary;
    assert!(s.liquidations > 0, "{s}");
    assert!(s.bankruptcies_into_book > 0, "{s}");
    assert!(s.adl_completed > 0, "{s}");
    assert_adl_accounted(s);
    // 3 makers, 60 traders and 2 keepers: every sweep ranks all 65 registered positions.
    assert!(s.positions_ranked >= 65 * s.sweeps_ranked, "{s}");
    assert!(s.adl_fills > 0 && !s.deleveraged.is_empty(), "{s}");
    assert!(s.largest_haircut > 0, "{s}");
    assert_eq!(s.keeper_errors, 0, "{s}");
    // The ADL fills are marked on the steps they happened in.
    let marked: u64 = sim.timeline.iter().map(|r| r.adl_fills).sum();
    assert_eq!(marked, s.adl_fills);
}

#[tokio::test]
async fn squeeze_bankrupts_shorts_and_deleverages_longs() {
    let sim = play(short("squeeze", 50, 60)).await;
    let s = &sim.summary;
    assert!(s.bankruptcies_into_book > 0 && s.adl_fills > 0, "{s}");
    assert_adl_accounted(s);
}

#[tokio::test]
async fn calm_market_trades_without_bankruptcy_or_adl() {
    let sim = play(short("calm", 40, 40)).await;
    let s = &sim.summary;
    assert!(s.trades > 0, "{s}");
    assert_eq!(
        (s.bankruptcies(), s.adl_fills, s.rank_transactions),
        (0, 0, 0),
        "{s}"
    );
    assert!(s.insurance_end >= s.insurance_start, "{s}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let first = play(short("crash", 30, 30)).await;
    let again = play(short("crash", 30, 30)).await;
    assert_eq!(first.summary, again.summary);
    assert_eq!(first.timeline, again.timeline);
    let mut other = short("crash", 30, 30);
    other.seed += 1;
    let other = play(other).await;
    assert_ne!(first.summary, other.summary);
}

#[tokio::test]
async fn cached_account_reads_equal_fresh_reads_and_change_nothing() {
    let mut checked = Simulation::new(short("crash", 40, 40))
        .await
        .expect("setup");
    // Every account served from the cache is read afresh too and compared (a panic otherwise).
    checked.verify_cache_reads(true);
    let outcome = checked.run(|_, _| {}).await.expect("run");
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    let plain = play(short("crash", 40, 40)).await;
    assert_eq!(checked.summary, plain.summary);
    assert_eq!(checked.timeline, plain.timeline);
}

#[test]
fn every_shipped_scenario_file_is_built_in_and_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut built_in: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    built_in.sort();
    assert_eq!(files, built_in);
    for name in files {
        let by_path = load_scenario(dir.join(format!("{name}.toml")).to_str().unwrap())
            .expect("loads by path");
        assert_eq!(by_path.name, name);
    }
}
