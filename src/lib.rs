//! `reconcile`: keeps an Ultravox account's telephony credentials declared in a file, and plans and applies the
//! difference without revealing a secret.

pub mod agents;
pub mod api;
pub mod apply;
pub mod batch;
pub mod clean;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod drift;
pub mod endpoints;
pub mod error;
pub mod files;
pub mod import;
pub mod plan;
pub mod planfile;
pub mod provider;
pub mod redact;
pub mod render;
pub mod secret;
pub mod selection;
pub mod show;
pub mod shown;
pub mod sip;
pub mod sops;
pub mod state;
pub mod stop;
