//! The binary's start-up errors: each stops it with one clear line and exit code 1.

use std::process::Command;

use solana_keypair::Keypair;

fn keeper(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_perps-keeper"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run perps-keeper");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn temp(name: &str, contents: &str) -> String {
    let path = std::env::temp_dir().join(format!("perps-keeper-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_missing_keypair_a_bad_config_and_an_unreachable_rpc_are_clear_errors() {
    let (code, text) = keeper(&[
        "--rpc-url",
        "http://127.0.0.1:9",
        "--keypair",
        "/nonexistent/k.json",
        "--markets",
        "0",
        "run",
        "--once",
    ]);
    assert_eq!(code, 1);
    assert!(
        text.contains("keypair /nonexistent/k.json unreadable"),
        "{text}"
    );

    let config = temp(
        "bad.toml",
        "rpc_url = \"http://127.0.0.1:9\"\nkeypair_path = \"k.json\"\nmarkets = []\n",
    );
    let (code, text) = keeper(&["--config", &config, "run", "--once"]);
    assert_eq!(code, 1);
    assert!(text.contains("`markets` is empty"), "{text}");

    let bytes = Keypair::new().to_bytes();
    let json = format!(
        "[{}]",
        bytes
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let keypair = temp("key.json", &json);
    // Port 9 (discard) on loopback: nothing answers JSON-RPC there.
    let (code, text) = keeper(&[
        "--rpc-url",
        "http://127.0.0.1:9",
        "--keypair",
        &keypair,
        "--markets",
        "0",
        "run",
        "--once",
    ]);
    assert_eq!(code, 1);
    assert!(
        text.contains("RPC http://127.0.0.1:9 unreachable"),
        "{text}"
    );
}

#[test]
fn the_benchmark_runs_without_a_cluster() {
    let (code, text) = keeper(&["bench", "--positions", "1000"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1000 positions: health pass"), "{text}");
}
