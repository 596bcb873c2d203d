//! Shared by the examples: building the `reconcile` binary they run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the `reconcile` binary with the same cargo and profile, and returns its path.
pub fn build_reconcile(manifest_dir: &Path, release: bool) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut args = vec!["build", "--quiet", "--bin", "reconcile", "--message-format=json"];
    if release {
        args.push("--release");
    }
    let output = Command::new(cargo)
        .args(args)
        .current_dir(manifest_dir)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "reconcile")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo did not report the reconcile binary".to_string())
}
