//! The Ultravox API: the [`TelephonyApi`] seam the rest of the tool talks to, its HTTP implementation
//! ([`client`], with URL handling in [`url`] and the retry policy in [`retry`]), the limits both work within
//! ([`options`]), and the wire format ([`wire`]).
//!
//! The SIP endpoints' wire format is [`sip`] (it reads `wire`'s [`wire::ShapeError`]).
//!
//! No two of them import each other otherwise: `options` and `wire` use no sibling; this module (the seam, [`ApiError`]) uses
//! `wire`'s types; `url` and `retry` use this module's errors (and `retry` reads `options`); `client` uses them all.

pub mod client;
pub mod options;
pub mod retry;
pub mod sip;
pub mod url;
pub mod wire;

use std::time::Duration;

pub use client::Client;
pub use options::ClientOptions;
use wire::ProviderWrite;

use crate::provider::Provider;
use crate::redact::Outside;
use crate::state::{
    DesiredProvider, DesiredRegistration, DesiredSip, RemoteProvider, RemoteRegistration, RemoteSecret, RemoteSip,
    RemoteState,
};

/// Reading and writing an account's telephony config, through either endpoint family. The HTTP client implements
/// it; tests of `apply` use an in-memory fake.
#[allow(async_fn_in_trait)]
pub trait TelephonyApi {
    /// One `GET` of the account-level config.
    async fn fetch_config(&self) -> Result<RemoteState, ApiError>;
    /// One account-level `PATCH` holding exactly `writes`; answers the account's config after it (the answer must
    /// speak of every written provider; one it is silent about and that was not written reads as absent; an answer
    /// with no body is followed by one account-level `GET`).
    async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError>;
    /// One provider-scoped `GET`: `None` when the provider is not configured (the framework's JSON 404).
    async fn fetch_provider(&self, provider: Provider) -> Result<Option<RemoteProvider>, ApiError>;
    /// `POST` of the complete block; answers the created provider (read back with one `GET` when the server's answer
    /// has no body). `attempts` is the create's allowance, shared by
    /// every POST of one create (see [`crate::apply`]): the client counts the attempts it makes against it.
    async fn create_provider(
        &self,
        desired: &DesiredProvider,
        attempts: &mut Attempts,
    ) -> Result<RemoteProvider, ApiError>;
    /// A fresh allowance of attempts, within this API's limits, for a request made in several rounds (a create).
    fn attempts(&self) -> Attempts;
    /// Waits after a create's ambiguous failure `after`, before the provider is read again: the server's
    /// `Retry-After`, or the backoff for the attempts made, never past the allowance's time budget. It gives a POST
    /// still being processed time to land, and spaces a create's attempts as every retry is spaced. A signal ends the
    /// wait at once and is returned.
    async fn pause(&self, after: &ApiError, attempts: &Attempts) -> Option<crate::stop::Signal>;
    /// `PATCH` holding only `fields` of the desired block; answers the provider after the merge, and which fields
    /// the answer carried (read back with one `GET` when the server's answer has no body).
    async fn update_provider(&self, desired: &DesiredProvider, fields: &[String]) -> Result<PatchAnswer, ApiError>;
    /// `DELETE`; a provider already absent (404) counts as deleted.
    async fn delete_provider(&self, provider: Provider) -> Result<(), ApiError>;
    /// Every agent the API lists for `search` (its name filter), across all pages; [`ApiError::TooManyAgents`]
    /// when there are more pages than the client follows.
    async fn find_agents(&self, search: &str) -> Result<Vec<wire::Agent>, ApiError>;

    // The SIP endpoints. An implementation without them (the unit tests' in-memory fake) answers that it has none.

    /// `GET /api/sip`; the fallback handler's secrets it holds are secrets of the run from then on.
    async fn fetch_sip(&self) -> Result<RemoteSip, ApiError> {
        Err(no_sip())
    }
    /// `PATCH /api/sip` holding `fields` of the desired config (the fallback handler with `kept` when the file
    /// leaves its secrets to the account); answers the config after it.
    async fn update_sip(
        &self,
        _desired: &DesiredSip,
        _fields: &[String],
        _kept: &[RemoteSecret],
    ) -> Result<RemoteSip, ApiError> {
        Err(no_sip())
    }
    /// Every registration, across all pages.
    async fn list_registrations(&self) -> Result<Vec<RemoteRegistration>, ApiError> {
        Err(no_sip())
    }
    /// `POST /api/sip/registrations` with every field; answers the registration created. `attempts` is the create's
    /// allowance, shared by every POST of one create, as for [`TelephonyApi::create_provider`].
    async fn create_registration(
        &self,
        _desired: &DesiredRegistration,
        _attempts: &mut Attempts,
    ) -> Result<RemoteRegistration, ApiError> {
        Err(no_sip())
    }
    /// `PATCH /api/sip/registrations/{id}` holding `fields`; answers the registration after it.
    async fn update_registration(
        &self,
        _id: &str,
        _desired: &DesiredRegistration,
        _fields: &[String],
    ) -> Result<RemoteRegistration, ApiError> {
        Err(no_sip())
    }
    /// `DELETE /api/sip/registrations/{id}`; one already gone (the API's JSON 404) counts as deleted.
    async fn delete_registration(&self, _id: &str) -> Result<(), ApiError> {
        Err(no_sip())
    }
}

fn no_sip() -> ApiError {
    ApiError::Client { reason: "this API connection does not serve the SIP endpoints".into() }
}

/// The answer to a provider-scoped `PATCH`: the provider as the answer shows it, and the fields the answer carried
/// (a field is carried when its key, or for a secret its `{name}Prefix`, is present and not `null`). The API answers
/// the whole provider, but a server that answers a field-level merge with only what changed is read the same way: a
/// field the answer leaves out and the PATCH did not send was not touched by it (see [`crate::diff::check_patch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchAnswer {
    pub provider: RemoteProvider,
    pub carried: std::collections::BTreeSet<String>,
}

/// How many attempts one logical request may make, and within how long: normally one call of the client, but a
/// create shares one allowance across its rounds of POSTs and re-reads, so that it never makes more than `max`
/// attempts in all, nor starts one after `budget` has passed since its first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempts {
    /// The most attempts, the first included.
    pub max: u32,
    /// No attempt starts after this much time has passed since the first.
    pub budget: Duration,
    /// Attempts made so far.
    pub made: u32,
    /// When the first attempt started.
    pub started: Option<std::time::Instant>,
}

impl Attempts {
    pub fn new(max: u32, budget: Duration) -> Attempts {
        Attempts { max, budget, made: 0, started: None }
    }

    /// Why no further attempt may start, if none may.
    pub fn exhausted(&self) -> Option<GaveUp> {
        if self.made >= self.max {
            Some(GaveUp::Attempts)
        } else if self.started.is_some_and(|started| started.elapsed() >= self.budget) {
            Some(GaveUp::Budget(self.budget))
        } else {
            None
        }
    }
}

/// Why the client stopped retrying a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// It made the most attempts it makes.
    Attempts,
    /// Waiting for another attempt would pass this total time since the first one.
    Budget(Duration),
    /// The server's `Retry-After` asked for a longer wait than the client honours.
    RetryAfterTooLong { asked: Duration, cap: Duration },
}

/// An answer's `Deprecation` or `Sunset` header: which endpoint, and the sunset date when one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    pub method: String,
    /// The endpoint's path under the API root.
    pub path: String,
    /// The `Sunset` date, as an HTTP date, when the header held a valid one.
    pub sunset: Option<String>,
}

impl std::fmt::Display for Deprecation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the API marks {} {} as deprecated", self.method, self.path)?;
        match &self.sunset {
            Some(date) => write!(f, " (to be removed on {date})")?,
            None => write!(f, " (no removal date given)")?,
        }
        if self.path == crate::endpoints::ACCOUNT_CONFIG_PATH {
            write!(f, "; `--endpoints provider` uses Ultravox's provider-scoped endpoints instead")
        } else {
            write!(f, "; see Ultravox's API changelog for its replacement")
        }
    }
}

/// A failed conversation with the API. URLs carry no credentials; what the server said is outside text, checked
/// against every secret of the run when it is shown ([`Outside`]) and cleaned of the account's remote prefixes.
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
    #[error("{method} {url} answered HTTP {status}{}{}", retry_note(*attempts, *gave_up), format_messages(messages))]
    Status {
        method: String,
        url: String,
        status: u16,
        messages: Vec<ServerMessage>,
        attempts: u32,
        gave_up: Option<GaveUp>,
        /// Whether the body is the API's `{"detail": "..."}`: only such a 404 means "not configured".
        detail_body: bool,
        /// Whether an earlier attempt of the same request may have been processed (its answer was lost).
        earlier_unknown: bool,
        /// The wait the answer's `Retry-After` asked for, in whole seconds (rounded up), if any.
        retry_after: Option<u32>,
    },
    #[error(
        "{method} {url} answered HTTP 404 with no API error body: this server has no such endpoint (not \"not \
         configured\", which the API says with {{\"detail\": ...}})"
    )]
    NoSuchEndpoint { method: String, url: String },
    #[error(
        "{method} {url} answered a redirect (HTTP {status}) to {target}; it was not followed, and the API key was not \
         sent there"
    )]
    Redirect { method: String, url: String, status: u16, target: Outside },
    #[error("{method} {url} timed out after {}s{}", after.as_secs_f32(), retry_note(*attempts, *gave_up))]
    Timeout { method: String, url: String, after: Duration, attempts: u32, gave_up: Option<GaveUp> },
    #[error("{method} {url} failed: {reason}{}", retry_note(*attempts, *gave_up))]
    Transport {
        method: String,
        url: String,
        reason: String,
        attempts: u32,
        gave_up: Option<GaveUp>,
        /// Whether the request may have reached the server (false: no connection was made).
        sent: bool,
        /// Whether an earlier attempt of the same request may have been processed (its answer was lost).
        earlier_unknown: bool,
    },
    /// A signal stopped the run (see [`crate::stop`]): the request was abandoned while its answer was awaited, or
    /// was never sent.
    #[error("{method} {url} {}", interruption(*signal, *in_flight, *may_have_landed && method != "GET"))]
    Interrupted {
        method: String,
        url: String,
        signal: crate::stop::Signal,
        /// Whether it was sent and its answer not yet received.
        in_flight: bool,
        /// Whether this attempt, or an earlier one of the same request, may have been processed.
        may_have_landed: bool,
    },
    #[error("{method} {url} answered something that is not a telephony config: {reason}")]
    BadAnswer { method: String, url: String, reason: String },
    /// A write the server answered 2xx with no body (done, by its word, but nothing to check), whose outcome the read
    /// after it could not show: `read` says why (the read's own error as shown, its server text checked as outside text).
    #[error("{method} {url} answered HTTP {status} with no body, and {read}")]
    NotReadBack { method: String, url: String, status: u16, read: String },
    /// A page of `GET /api/agents` that cannot be read or followed.
    #[error("GET {url} answered something that is not a page of agents: {reason}")]
    BadAgentsPage { url: String, reason: String },
    /// The agents listing for a name went on past the pages the client follows (see [`TelephonyApi::find_agents`]).
    #[error(
        "too many agents match the name {name:?}: after {pages} pages ({listed} agents) the API still listed more, \
         and reconcile reads no further"
    )]
    TooManyAgents { name: String, pages: usize, listed: usize },
}

/// One message of the server's error body: the field it names, if any, and its text, each outside text checked on its
/// own when shown (so that a message echoing a secret still says which field it is about).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMessage {
    pub field: Option<Outside>,
    pub text: Outside,
}

impl std::fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.text),
            None => write!(f, "{}", self.text),
        }
    }
}

/// What an interruption did to a request: `in_flight`, sent and its answer not yet in; `write_unknown`, a write that
/// (in this attempt or an earlier one) may have landed.
fn interruption(signal: crate::stop::Signal, in_flight: bool, write_unknown: bool) -> String {
    match (in_flight, write_unknown) {
        (true, true) => format!("was in flight when the run was interrupted ({signal}): it may or may not have landed"),
        (true, false) => format!("was abandoned: the run was interrupted ({signal}) before its answer came"),
        (false, true) => format!(
            "was not sent again: the run was interrupted ({signal}); an earlier attempt may or may not have landed"
        ),
        (false, false) => format!("was not sent: the run was interrupted ({signal})"),
    }
}

fn format_messages(messages: &[ServerMessage]) -> String {
    match messages {
        [] => String::new(),
        [one] => format!(": {one}"),
        many => many.iter().map(|m| format!("\n  {m}")).collect(),
    }
}

fn retry_note(attempts: u32, gave_up: Option<GaveUp>) -> String {
    let tries = if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") };
    match gave_up {
        None if attempts > 1 => format!(" (after {tries})"),
        None => String::new(),
        Some(GaveUp::Attempts) => format!(" (gave up after {tries}, the most reconcile makes)"),
        Some(GaveUp::Budget(budget)) => {
            format!(" (gave up after {tries}: another would pass the {}s retry budget)", budget.as_secs())
        }
        Some(GaveUp::RetryAfterTooLong { asked, cap }) => format!(
            " (gave up after {tries}: the server asked to retry after {}s, longer than the {}s reconcile waits)",
            asked.as_secs(),
            cap.as_secs()
        ),
    }
}

/// What to do after a write whose outcome is unknown.
const WRITE_UNKNOWN: &str = "the write may or may not have been applied: run `reconcile plan` to see the account as \
     it is now; applying again is safe (it reads the account first and sends only what is left)";

impl ApiError {
    /// Whether this failure leaves it unknown whether a write changed the account: the request (or an earlier
    /// attempt of it) was sent and no answer says it was not done. A write is "failed" only when the server said it
    /// was not done: a 4xx, or 429 and 503 (not processed); every other status of the 5xx range, a timeout, a lost
    /// connection or an unreadable answer leaves it in doubt.
    pub fn write_outcome_unknown(&self) -> bool {
        let (method, unknown) = match self {
            ApiError::Status { method, status, earlier_unknown, .. } => {
                (method, *earlier_unknown || (*status >= 500 && *status != 503))
            }
            ApiError::Timeout { method, .. } => (method, true),
            ApiError::Transport { method, sent, earlier_unknown, .. } => (method, *sent || *earlier_unknown),
            ApiError::BadAnswer { method, .. } | ApiError::NotReadBack { method, .. } => (method, true),
            ApiError::Interrupted { method, may_have_landed, .. } => (method, *may_have_landed),
            _ => return false,
        };
        unknown && method != "GET"
    }

    /// Whether this failure is ambiguous in the sense that matters before another `POST`: 502, 504, a lost
    /// connection or a timeout, after which the API may or may not have processed the request. A create reads the
    /// provider again before anything else (429 and 503 were not processed; every other status is an answer).
    pub fn ambiguous(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 502 | 504),
            ApiError::Timeout { .. } => true,
            ApiError::Transport { sent, .. } => *sent,
            _ => false,
        }
    }

    /// Whether a signal stopped this request.
    pub fn interrupted(&self) -> bool {
        matches!(self, ApiError::Interrupted { .. })
    }

    /// The wait the server asked for with `Retry-After`, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => retry_after.map(|secs| Duration::from_secs(secs.into())),
            _ => None,
        }
    }

    /// The request of this failure, not sent again because `signal` stopped the run, and whose earlier attempt (this
    /// failure) may or may not have landed.
    pub fn stopped_after(self, signal: crate::stop::Signal) -> ApiError {
        match self {
            ApiError::Status { method, url, .. }
            | ApiError::Timeout { method, url, .. }
            | ApiError::Transport { method, url, .. } => {
                ApiError::Interrupted { method, url, signal, in_flight: false, may_have_landed: true }
            }
            other => other,
        }
    }

    /// The same failure, saying the request gave up after `attempts` in all, and why.
    pub fn gave_up_after(mut self, total: u32, why: GaveUp) -> ApiError {
        match &mut self {
            ApiError::Status { attempts, gave_up, .. }
            | ApiError::Timeout { attempts, gave_up, .. }
            | ApiError::Transport { attempts, gave_up, .. } => {
                *attempts = total;
                *gave_up = Some(why);
            }
            _ => {}
        }
        self
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        if self.write_outcome_unknown() {
            return Some(match self {
                ApiError::BadAnswer { .. } => {
                    format!("the API accepted the write but its answer is unreadable; {WRITE_UNKNOWN}")
                }
                ApiError::NotReadBack { .. } => {
                    format!("the API said the write was done but showed nothing to check it by; {WRITE_UNKNOWN}")
                }
                _ => WRITE_UNKNOWN.to_string(),
            });
        }
        let text = match self {
            ApiError::InvalidUrl { .. } => "pass --api-url https://api.ultravox.ai (or set ULTRAVOX_API_URL)",
            ApiError::InsecureUrl { .. } => "use https://; plain http:// is accepted only for localhost (the emulator)",
            ApiError::BadApiKey => "check the value of the API key variable: one line, no spaces or control characters",
            ApiError::Client { .. } => return None,
            // Only `--endpoints account` shows these: `auto` reads through the provider-scoped endpoints instead.
            ApiError::Status { status: 404 | 405 | 410, url, .. }
                if url.ends_with(crate::endpoints::ACCOUNT_CONFIG_PATH) =>
            {
                "this server may no longer serve the deprecated account-level endpoint (a removed endpoint answers 404, \
                 405 or 410): `--endpoints provider`, or the default `auto`, reads and writes through the provider-scoped \
                 endpoints; otherwise check --api-url (it should point at the Ultravox API root)"
            }
            ApiError::Status { status: 401, .. } => {
                "check the Ultravox API key (account.apiKey in the file, by default the ULTRAVOX_API_KEY variable)"
            }
            ApiError::Status { status: 403, .. } => "the API key may not do this; use a key of the account's owner",
            ApiError::Status { status: 404, method, detail_body: true, .. } if method == "PATCH" => {
                "what this write was to change is no longer on the account (deleted since the plan was made?): run \
                 `reconcile plan` to see the account as it is now"
            }
            ApiError::Status { status: 404, .. } => "check --api-url: it should point at the Ultravox API root",
            ApiError::Status { status: 400, .. } => {
                "the server refused the change; fix the fields it names in the file"
            }
            ApiError::Status { status: 429, .. } => "the API is rate limiting this key; try again in a minute",
            ApiError::Status { status: 503, method, .. } if method != "GET" => {
                "the API is unavailable and did not process the write; try again later"
            }
            ApiError::Status { status, .. } if *status >= 500 => {
                "the API is failing; try again later (a failed read changes nothing)"
            }
            ApiError::Status { .. } => return None,
            ApiError::Redirect { .. } => {
                "check --api-url: it should be the API root itself (https://api.ultravox.ai), which answers without \
                 redirecting"
            }
            ApiError::Timeout { .. } => "the server is slow or unreachable; try again, or raise --timeout",
            ApiError::Transport { .. } => "check the network and --api-url, then try again",
            ApiError::BadAnswer { .. } | ApiError::NotReadBack { .. } | ApiError::BadAgentsPage { .. } => {
                "check --api-url: it should point at the Ultravox API"
            }
            ApiError::TooManyAgents { .. } => {
                "write the agent's ID instead of its name (the Ultravox console shows it), or give the agent a name \
                 that fewer other agents' names contain"
            }
            ApiError::NoSuchEndpoint { .. } => {
                "check --api-url (it should be the Ultravox API root); if this server lacks the provider-scoped \
                 endpoints (/api/telephony_configs/...), pass --endpoints account: it reads and writes through the \
                 account-level endpoint"
            }
            ApiError::Interrupted { .. } => "nothing more was sent; run the command again when you are ready",
        };
        Some(text.to_string())
    }
}
