//! Shared by the examples: building the `reconcile` binary they run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Builds the `reconcile` binary with the same cargo and profile as the running example `example`, saying so on
/// stderr first (cargo's own progress follows there), and returns its path.
///
/// Two things would otherwise make this a second build of the library and much of the HTTP stack:
/// - `cargo run --example NAME` compiled the library with the dev-dependencies' features, since an example may use
///   them; a plain `cargo build --bin reconcile` resolves features without them. Building the binary together with
///   the running example keeps the resolution the same.
/// - `cargo run` gives the example the variables it sets for a crate (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`...).
///   Build scripts watch some of them (ring's does, with `rerun-if-env-changed`), so a cargo started with them
///   finds those crates stale. They are removed from the inner cargo's environment; cargo's own settings
///   (`CARGO_HOME`, `CARGO_TARGET_DIR`, ...) are kept.
///
/// So only the binary's own `main.rs` is compiled.
pub fn build_reconcile(manifest_dir: &Path, example: &str, release: bool) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut args =
        vec!["build", "--bin", "reconcile", "--example", example, "--message-format=json-render-diagnostics"];
    if release {
        args.push("--release");
    }
    eprintln!("Building the reconcile binary: {} {}", cargo_name(&cargo), args.join(" "));
    let mut command = Command::new(&cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            command.env_remove(&name);
        }
    }
    let output = command
        .args(&args)
        .current_dir(manifest_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !output.status.success() {
        return Err("building the reconcile binary failed (cargo's messages are above)".to_string());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "reconcile")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo did not report the reconcile binary".to_string())
}

/// Whether `cargo run` sets this variable for the program it runs (the crate's metadata), as opposed to a setting of
/// cargo itself.
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

/// `cargo`, rather than the full path cargo runs examples with.
fn cargo_name(cargo: &str) -> &str {
    Path::new(cargo).file_name().and_then(|name| name.to_str()).unwrap_or(cargo)
}
