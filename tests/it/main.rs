//! The integration tests, one binary: the real `reconcile` binary and the library against the bundled emulator
//! (`tests/emulator`, shared through `common`). One module per area.

// Test helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod agents;
mod common;
mod completions;
mod diagnostics;
mod emulator_selftest;
mod families;
mod faults;
mod formats;
mod import;
mod leak;
mod plan_apply;
mod property;
mod saved_plans;
mod schema;
mod secret_safety;
mod several;
mod sops;
mod validate;
