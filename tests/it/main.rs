//! The integration tests, one binary: the real `reconcile` binary and the library against the bundled emulator
//! (the `ultravox-emulator` crate in `emulator/`; `common` is the harness). One module per area. The emulator's own
//! tests are in its crate (`emulator/tests/selftest.rs`).

// Test helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod action;
mod agents;
mod annotations;
mod blocks;
mod common;
mod completions;
mod data_kept;
mod diagnostic_codes;
mod diagnostics;
mod drift;
mod fakes;
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
mod show;
mod sip;
mod sip_apply;
mod sops;
mod stop;
mod unverifiable;
mod validate;
