//! `cargo run -p perps-idl` writes `idl/perps.json`, the program's Anchor IDL, built the way
//! anchor-cli builds it (the program's `idl-build` feature prints each item from its tests; the
//! builder collects them). `cargo run -p perps-idl -- --check` fails when the committed file
//! differs from a fresh build (CI runs it).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root");
    let check = std::env::args().any(|arg| arg == "--check");
    // anchor-lang-idl 0.1.4 passes a literal `+{toolchain}` to cargo when rustup has set
    // RUSTUP_TOOLCHAIN (as `cargo run` does): the build must run with the toolchain in use.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let idl = match anchor_lang_idl::build::IdlBuilder::new()
        .program_path(root.join("programs/perps"))
        .build()
    {
        Ok(idl) => idl,
        Err(e) => {
            eprintln!("building the IDL failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let json = serde_json::to_string_pretty(&idl).expect("an IDL serializes") + "\n";
    let path = root.join("idl/perps.json");
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != json {
            eprintln!(
                "idl/perps.json differs from a fresh build: run `cargo run -p perps-idl` and commit it"
            );
            return ExitCode::FAILURE;
        }
        println!("idl/perps.json is up to date");
        return ExitCode::SUCCESS;
    }
    std::fs::create_dir_all(root.join("idl")).expect("idl/ can be created");
    std::fs::write(&path, json).expect("idl/perps.json can be written");
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}
