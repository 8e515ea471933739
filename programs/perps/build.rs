//! The security.txt contacts and source address are the deployer's, not the code's: they are
//! read from the environment when the program is built (see SECURITY.md, "Deploying").
fn main() {
    for (var, unset) in [
        (
            "PERPS_SECURITY_CONTACTS",
            "link:SECURITY.md (built without PERPS_SECURITY_CONTACTS)",
        ),
        ("PERPS_SOURCE_URL", "unset (built without PERPS_SOURCE_URL)"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let value = std::env::var(var).unwrap_or_else(|_| unset.to_string());
        println!("cargo:rustc-env={var}={value}");
    }
}
