//! The benchmark's cases run natively everywhere, and on the SBF VM where the toolchain is.

use std::io::Write;
use std::process::Command;

use perps_bench_sbf::cases::{instruction_data, run, Failure, Path};
use perps_cu::{book, build_script, cases, root, toolchain_dir, Case, Meter};

#[test]
fn every_case_and_stage_succeeds_natively() {
    for case in cases() {
        for stage in 0..=case.path.stages() {
            let mut book = case.path.book().map(book);
            let account = book.as_deref_mut().map(bytemuck::bytes_of_mut);
            let data = instruction_data(case.path, stage, case.size);
            assert_eq!(run(&data, account), Ok(()), "{case:?} stage {stage}");
        }
    }
}

#[test]
fn malformed_instructions_are_refused() {
    let adl = |size| instruction_data(Path::Adl, 3, size);
    assert_eq!(run(&adl(49), None), Err(Failure::Instruction));
    assert_eq!(run(&adl(0), None), Err(Failure::Instruction));
    let beyond_last_stage = instruction_data(Path::MarginCheck, 2, 0);
    assert_eq!(run(&beyond_last_stage, None), Err(Failure::Instruction));
    assert_eq!(
        run(&[Path::ALL.len() as u8, 0, 0, 0], None),
        Err(Failure::Instruction)
    );
    let without_book = instruction_data(Path::Match, 1, 5);
    assert_eq!(run(&without_book, None), Err(Failure::Account));
    let mut wrong_book = book(perps_bench_sbf::cases::BookFixture::Full);
    let insert = instruction_data(Path::InsertWorst, 1, 0);
    let account = Some(bytemuck::bytes_of_mut(&mut *wrong_book));
    assert_eq!(run(&insert, account), Err(Failure::Account));
}

#[tokio::test]
async fn the_sbf_program_builds_and_every_case_succeeds_on_the_vm() {
    let linker = root().join(".sbf/bin/sbpf-linker");
    if !toolchain_dir().join("usr/bin/rustc").exists() || !linker.exists() {
        // Straight to stderr: the test harness captures only print! output.
        let reason = "skipped: no SBF toolchain in .sbf/ (bash bench/build-sbf.sh fetches it)";
        writeln!(std::io::stderr(), "{reason}").expect("stderr");
        return;
    }
    let build = Command::new("bash")
        .arg(build_script())
        .output()
        .expect("bash runs");
    assert!(
        build.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let stdout = String::from_utf8(build.stdout).expect("a path");
    let so = stdout.lines().last().expect("the script prints the .so");
    let mut meter = Meter::start(std::fs::read(so).expect("the .so")).await;

    let baseline = meter.units(cases()[0], 0).await.expect("no-op");
    let mut figures = Vec::new();
    for case in cases() {
        let units = meter.stages(case).await.expect("every case succeeds");
        assert!(units[0] >= baseline, "{case:?}: {units:?}");
        // Each stage runs one more step of the path than the one before.
        assert!(units.windows(2).all(|w| w[1] > w[0]), "{case:?}: {units:?}");
        figures.push((case, units[units.len() - 1] - units[0]));
    }
    // More candidates or makers cost more.
    for path in [Path::Adl, Path::Match] {
        let sized: Vec<u64> = figures
            .iter()
            .filter(|(case, _)| case.path == path)
            .map(|&(_, units)| units)
            .collect();
        assert!(sized.windows(2).all(|w| w[1] > w[0]), "{path:?}: {sized:?}");
    }
    // A refused instruction is a failed transaction, not a figure.
    let refused = Case {
        path: Path::MarginCheck,
        size: 0,
    };
    assert!(meter.units(refused, 2).await.is_err());
}
