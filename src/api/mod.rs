//! The Ultravox API: the [`TelephonyApi`] seam the rest of the tool talks to, its HTTP implementation
//! ([`client`]), and the wire format ([`wire`]).

pub mod client;
pub mod wire;

use std::time::Duration;

pub use client::{Client, ClientOptions};
use wire::ProviderWrite;

use crate::state::RemoteState;

/// Reading and writing an account's telephony config. The HTTP client implements it; tests of `apply` use an
/// in-memory fake.
#[allow(async_fn_in_trait)]
pub trait TelephonyApi {
    /// One `GET` of the account's config.
    async fn fetch_config(&self) -> Result<RemoteState, ApiError>;
    /// One write holding exactly `writes`; answers the account's config after it.
    async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError>;
}

/// A failed conversation with the API. URLs carry no credentials; server messages are scrubbed of every secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("invalid API URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("refusing to send the API key over plain http to {url}")]
    InsecureUrl { url: String },
    #[error("the API key is not a valid HTTP header value")]
    BadApiKey,
    #[error("cannot set up the HTTP client: {reason}")]
    Client { reason: String },
    #[error("{method} {url} answered HTTP {status}{}", format_messages(messages))]
    Status { method: String, url: String, status: u16, messages: Vec<String>, attempts: u32 },
    #[error("{method} {url} answered a redirect (HTTP {status}) to {target}; it was not followed")]
    Redirect { method: String, url: String, status: u16, target: String },
    #[error("{method} {url} timed out after {}s{}", after.as_secs_f32(), attempts_note(*attempts))]
    Timeout { method: String, url: String, after: Duration, attempts: u32 },
    #[error("{method} {url} failed: {reason}{}", attempts_note(*attempts))]
    Transport { method: String, url: String, reason: String, attempts: u32 },
    #[error("{url} answered something that is not a telephony config: {reason}")]
    BadAnswer { url: String, reason: String },
}

fn format_messages(messages: &[String]) -> String {
    match messages {
        [] => String::new(),
        [one] => format!(": {one}"),
        many => many.iter().map(|m| format!("\n  {m}")).collect(),
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() }
}

impl ApiError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            ApiError::InvalidUrl { .. } => "pass --api-url https://api.ultravox.ai (or set ULTRAVOX_API_URL)",
            ApiError::InsecureUrl { .. } => "use https://; plain http:// is accepted only for localhost (the emulator)",
            ApiError::BadApiKey => "check the value of the API key variable: one line, no spaces or control characters",
            ApiError::Client { .. } => return None,
            ApiError::Status { status: 401, .. } => {
                "check the Ultravox API key (account.apiKey in the file, by default the ULTRAVOX_API_KEY variable)"
            }
            ApiError::Status { status: 403, .. } => "the API key may not do this; use a key of the account's owner",
            ApiError::Status { status: 404, .. } => "check --api-url: it should point at the Ultravox API root",
            ApiError::Status { status: 400, .. } => {
                "the server refused the change; fix the fields it names in the file"
            }
            ApiError::Status { status: 429, .. } => "the API is rate limiting this key; try again in a minute",
            ApiError::Status { status, .. } if *status >= 500 => {
                "the API is failing; try again later (nothing was changed by this attempt unless it says so)"
            }
            ApiError::Status { .. } => return None,
            ApiError::Redirect { .. } => "check --api-url: the API root should answer directly",
            ApiError::Timeout { .. } => "the server is slow or unreachable; try again, or raise --timeout",
            ApiError::Transport { .. } => "check the network and --api-url",
            ApiError::BadAnswer { .. } => "check --api-url: it should point at the Ultravox API",
        };
        Some(text.to_string())
    }
}
