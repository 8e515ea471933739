//! The binary: a short run writes its report, timeline and chart; bad input stops with one line.

use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_perps-sim"))
}

#[test]
fn a_short_run_writes_the_summary_the_timeline_and_a_png_chart() {
    let out = std::env::temp_dir().join(format!("perps-sim-cli-{}", std::process::id()));
    let output = sim()
        .args([
            "--scenario",
            "crash",
            "--steps",
            "12",
            "--traders",
            "12",
            "--seed",
            "3",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("12 of 12 steps held"), "{stdout}");
    // The program's own logs are held back from the report.
    assert!(!stdout.contains("Instruction:"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("timeline.csv")).expect("timeline");
    assert!(csv.starts_with("step,time_secs,oracle_usd,insurance_usdc"));
    assert_eq!(csv.lines().count(), 13);
    let png = std::fs::read(out.join("chart.png")).expect("chart");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(out.join("summary.txt"))
        .unwrap()
        .contains("ADL (started / completed / fills / left open at the end)"));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_missing_scenario_file_stops_with_one_clear_line() {
    let output = sim()
        .args(["--scenario", "no/such.toml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read scenario no/such.toml"),
        "{stderr}"
    );
}

#[test]
fn a_bad_override_is_refused_before_the_bank_starts() {
    let output = sim().args(["--steps", "0"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("steps and step_secs must be positive")
    );
}
