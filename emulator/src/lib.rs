//! A local, stateful emulator of the parts of the Ultravox API that `reconcile` talks to, written to the API's schema
//! (`ultravox-openapi.yaml`): the account-level telephony config (`GET`/`PATCH /api/accounts/me/telephony_config`),
//! the provider-scoped endpoints (`/api/telephony_configs/{twilio,telnyx,plivo}`), `GET /api/agents`, and the SIP
//! endpoints (`GET`/`PATCH /api/sip`, `/api/sip/registrations` and `/api/sip/registrations/{id}`: see [`sip`] for
//! what they infer where the reference is silent, and the alternatives they can play).
//!
//! It keeps real state per API key, answers with prefixes of the stored secrets and never the secrets, validates
//! bodies the way the Django REST Framework backend does, records every request, and can inject faults (error
//! statuses, delays, dropped connections, malformed or wrongly shaped answers, redirects).
//!
//! [`Emulator::start`] runs it on its own thread with its own tokio runtime, so it serves plain `#[test]` functions
//! that run the real binary as well as async tests. The crate's binary (`src/main.rs`, `cargo run -p
//! ultravox-emulator`) runs it standalone; `reconcile`'s integration tests, quickstart and benchmark use this library,
//! and [`sample`] is the account and `telephony.yaml` they share. Its own tests are `tests/selftest.rs`.
//!
//! An admin surface under `/_emulator/` (no auth, not recorded, never faulted) serves debugging and the standalone
//! server: `GET`/`DELETE /_emulator/requests`, `POST`/`DELETE /_emulator/faults` (a JSON list, see [`FaultSpec`]),
//! `PUT /_emulator/always-fail` (a status or `null`), `GET`/`PUT /_emulator/state` (a [`Seed`], secrets included),
//! `PUT /_emulator/latency` (`{"ms": 50}` for every answer, `{"ms": 500, "apiKey": "KEY"}` for one account's,
//! `{"ms": 5000, "writes": true}` for every write on top).
//!
//! Many accounts are served at once: a latency is an asynchronous wait, so slow answers do not hold up others.
//!
//! The account-level pair can be taken away ([`Emulator::set_account_endpoint`]: 404 as after its removal, or 405,
//! 410, an HTML 404, or a 404 with a JSON body that is not the API's), so can the provider-scoped endpoints (a server
//! that lacks them), answers of the account-level pair can carry `Deprecation`/`Sunset` headers
//! ([`Emulator::set_deprecation`]) or leave a provider out ([`Emulator::set_account_omits`]), writes can be held
//! in flight ([`Emulator::set_write_latency`]), the agents listing's page links can name another origin than the
//! one the request was sent to ([`Emulator::set_page_links_origin`]), as a server behind a proxy writes them, and
//! a PATCH can be answered with only the fields (or, account-level, the providers) it sent
//! ([`Emulator::set_partial_patch_answers`]), and a telephony-config `POST` or `PATCH` can be carried out and answered
//! with its status and no body ([`Emulator::set_empty_write_answers`]).

mod admin;
mod api;
mod model;
pub mod sample;
mod schemas;
mod server;
mod sip;
mod validate;

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use model::{
    AccountState, Agent, AgentAllowance, DEFAULT_SIP_DOMAIN, FallbackHandler, Plivo, Seed, SipConfig, SipRegistration,
    Telnyx, Twilio, numbered_uuid,
};

/// How the emulator starts. `Default` gives no accounts, prefixes of 4 characters and pages of 100 agents.
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Accounts by API key.
    pub accounts: Vec<(String, AccountState)>,
    /// Characters of a secret shown as its prefix; 0 means the default, 4.
    pub prefix_length: usize,
    /// Per secret field (`"twilio.authToken"`, `"telnyx.apiKey"`, `"telnyx.publicKey"`, `"plivo.authToken"`), a
    /// prefix length overriding `prefix_length` (0 here does mean an empty prefix).
    pub prefix_length_by_field: BTreeMap<String, usize>,
    /// Default and largest page of `GET /api/agents` (a larger `pageSize` is clipped to it); 0 means 100.
    pub agents_page_size: usize,
    /// Added to every API answer (not the admin surface), as network and server time; zero by default.
    pub latency: Duration,
    /// Default and largest page of `GET /api/sip/registrations`; 0 means 100.
    pub registrations_page_size: usize,
}

impl EmulatorConfig {
    /// Adds an account.
    pub fn with_account(mut self, api_key: impl Into<String>, state: AccountState) -> Self {
        self.accounts.push((api_key.into(), state));
        self
    }
}

/// The prefix length used when none is configured.
pub const DEFAULT_PREFIX_LENGTH: usize = 4;
/// The agents page size used when none is configured.
pub const DEFAULT_AGENTS_PAGE_SIZE: usize = 100;

/// How one secret field's `{name}Prefix` is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixRule {
    /// `{"prefix": "<first n chars>"}`, clipped to the secret's length.
    Length(usize),
    /// `"authTokenPrefix": null`.
    Null,
    /// No `authTokenPrefix` key at all.
    Omitted,
}

/// Whether a family of endpoints is served, or answers as a path this server does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointMode {
    /// Served as the contract says.
    #[default]
    Served,
    /// Every request to it gets this status before authentication, as URL routing does: 404 with DRF's JSON
    /// (`{"detail": "Not found."}`), 405 with `Allow: OPTIONS`, or 410 with a `detail`.
    Gone(u16),
    /// A 404 HTML page, as a proxy or Django's non-API 404 sends.
    GoneHtml,
    /// A 404 with a JSON body that is not the API's `{"detail": ...}`: `{"error": "no such route"}`, as a gateway
    /// in front of a server without the path sends.
    GoneForeignJson,
}

impl EndpointMode {
    /// `served`, `404`, `405`, `410`, `html` or `json`.
    pub fn parse(text: &str) -> Result<EndpointMode, String> {
        match text {
            "served" => Ok(EndpointMode::Served),
            "html" => Ok(EndpointMode::GoneHtml),
            "json" => Ok(EndpointMode::GoneForeignJson),
            code => match code.parse::<u16>() {
                Ok(code @ (404 | 405 | 410)) => Ok(EndpointMode::Gone(code)),
                _ => Err(format!("`{text}`: expected served, 404, 405, 410, html or json")),
            },
        }
    }
}

/// How a `POST` (or `PATCH`) that would give two registrations the same `username` and `proxy` is answered: the
/// reference does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DuplicateRegistration {
    /// 400 with `{"non_field_errors": [...]}`, as DRF's unique-together validation does.
    #[default]
    Refuse,
    /// 409 with a `detail`.
    Conflict,
    /// Accepted: the account then has two registrations with that identity.
    Accept,
}

impl DuplicateRegistration {
    /// `400`, `409` or `accept`.
    pub fn parse(text: &str) -> Result<DuplicateRegistration, String> {
        match text {
            "400" => Ok(DuplicateRegistration::Refuse),
            "409" => Ok(DuplicateRegistration::Conflict),
            "accept" => Ok(DuplicateRegistration::Accept),
            _ => Err(format!("`{text}`: expected 400, 409 or accept")),
        }
    }
}

/// How a request for a registration ID the account does not have is answered: the reference does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingRegistration {
    /// 404 with DRF's `{"detail": "Not found."}`.
    #[default]
    NotFound,
    /// 410 with a `detail`.
    Gone,
    /// A 404 HTML page, as a server without the route sends.
    Html,
}

impl MissingRegistration {
    /// `404`, `410` or `html`.
    pub fn parse(text: &str) -> Result<MissingRegistration, String> {
        match text {
            "404" => Ok(MissingRegistration::NotFound),
            "410" => Ok(MissingRegistration::Gone),
            "html" => Ok(MissingRegistration::Html),
            _ => Err(format!("`{text}`: expected 404, 410 or html")),
        }
    }
}

/// How an allowance written without `toUserPattern` is answered: the reference says the default applies, not how it
/// is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OmittedPattern {
    /// The default written out: `^agent_<agentId>$`.
    #[default]
    Filled,
    /// `"toUserPattern": null`.
    Null,
    /// No `toUserPattern` key.
    Omitted,
}

impl OmittedPattern {
    /// `filled`, `null` or `omitted`.
    pub fn parse(text: &str) -> Result<OmittedPattern, String> {
        match text {
            "filled" => Ok(OmittedPattern::Filled),
            "null" => Ok(OmittedPattern::Null),
            "omitted" => Ok(OmittedPattern::Omitted),
            _ => Err(format!("`{text}`: expected filled, null or omitted")),
        }
    }
}

/// How a registration's unset `outboundProxy` or `authUser` is answered: the reference says they are nullable, not
/// how an unset one is shown (a server storing a blank text field shows `""`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnsetText {
    /// `null`.
    #[default]
    Null,
    /// `""`.
    Empty,
    /// No key.
    Omitted,
}

impl UnsetText {
    /// `null`, `empty` or `omitted`.
    pub fn parse(text: &str) -> Result<UnsetText, String> {
        match text {
            "null" => Ok(UnsetText::Null),
            "empty" => Ok(UnsetText::Empty),
            "omitted" => Ok(UnsetText::Omitted),
            _ => Err(format!("`{text}`: expected null, empty or omitted")),
        }
    }
}

/// A new registration's `successful`: `active` (`true`), `inactive` (`false`) or `unknown` (`null`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationStatus(pub Option<bool>);

impl RegistrationStatus {
    /// `active`, `inactive` or `unknown`.
    pub fn parse(text: &str) -> Result<RegistrationStatus, String> {
        match text {
            "active" => Ok(RegistrationStatus(Some(true))),
            "inactive" => Ok(RegistrationStatus(Some(false))),
            "unknown" => Ok(RegistrationStatus(None)),
            _ => Err(format!("`{text}`: expected active, inactive or unknown")),
        }
    }
}

/// The headers a deprecated endpoint's answers carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeprecationHeaders {
    /// The `Deprecation` header's value (RFC 9745: `@SECONDS`), if any.
    pub deprecation: Option<String>,
    /// The `Sunset` header's value (an HTTP date), if any.
    pub sunset: Option<String>,
}

/// One request as it reached the API routes (admin requests are not recorded).
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Lower-cased names; repeated headers are joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body as sent (lossily decoded if not UTF-8).
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
}

impl RecordedRequest {
    /// A header by name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let query = self.query.as_deref().unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    /// The top-level keys of a JSON object body, sorted; empty when the body is not an object.
    pub fn json_keys(&self) -> Vec<String> {
        match &self.json {
            Some(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

/// What a faulted request gets instead of (or before) its normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status. `body` is sent as is (as JSON when it parses as JSON, else as text); `None` gives the usual
    /// body for the status (DRF's `{"detail": ...}`, or an HTML page for 500/502/504 as a proxy or Django sends).
    Status { code: u16, body: Option<String>, retry_after: Option<String> },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Carry the request out (a write changes the account), then close the connection without answering: the
    /// client cannot know that it landed.
    DropAfterApply,
    /// Like [`Fault::DropAfterApply`], and then the request's account becomes this state, as if someone else wrote
    /// to it before the client could read it again.
    DropAfterApplyThenSet(Box<AccountState>),
    /// Like [`Fault::DropAfterApply`], and then the next `reads` GET requests (any path, any account) answer
    /// `status` with its usual body: the write landed, its answer was lost, and reading it back fails too.
    DropAfterApplyThenFailReads { status: u16, reads: usize },
    /// Carry the request out and answer it as usual, then the next `reads` GET requests (any path, any account)
    /// answer `status` with its usual body: with [`Emulator::set_empty_write_answers`], a write done whose answer
    /// shows nothing and whose read-back fails.
    ApplyThenFailReads { status: u16, reads: usize },
    /// 200 with truncated JSON: `{"twilio": `.
    Malformed,
    /// 200 with valid JSON of the wrong shape: `{"twilio": 5}` on the account config, `[]` elsewhere.
    WrongShape,
    /// A redirect with this status and `Location`.
    Redirect { status: u16, location: String },
}

impl Fault {
    /// A status with its usual body and no `Retry-After`.
    pub fn status(code: u16) -> Self {
        Fault::Status { code, body: None, retry_after: None }
    }

    /// A status with its usual body and `Retry-After: {retry_after}`.
    pub fn status_retry_after(code: u16, retry_after: impl Into<String>) -> Self {
        Fault::Status { code, body: None, retry_after: Some(retry_after.into()) }
    }

    /// A status with this body.
    pub fn status_with_body(code: u16, body: impl Into<String>) -> Self {
        Fault::Status { code, body: Some(body.into()), retry_after: None }
    }
}

/// A fault as the admin surface takes it: `{"kind": "status", "code": 503, "retryAfter": "1", "method": "PATCH"}`,
/// `{"kind": "delay", "ms": 500}`, `{"kind": "drop"}`, `{"kind": "dropAfterApply"}`,
/// `{"kind": "dropAfterApplyThenFailReads", "code": 503, "count": 4}`, `{"kind": "applyThenFailReads", "code": 500,
/// "count": 1}`, `{"kind": "malformed"}`,
/// `{"kind": "wrongShape"}`, `{"kind": "redirect", "code": 307, "location": "http://..."}`; `method` is optional for
/// every kind.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub retry_after: Option<String>,
    #[serde(default)]
    pub ms: Option<u64>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub count: Option<usize>,
}

impl FaultSpec {
    /// The fault and its method filter.
    pub fn into_fault(self) -> Result<(Option<String>, Fault), String> {
        let fault = match self.kind.as_str() {
            "status" => Fault::Status {
                code: self.code.ok_or("a `status` fault needs `code`")?,
                body: self.body,
                retry_after: self.retry_after,
            },
            "delay" => Fault::Delay(Duration::from_millis(self.ms.ok_or("a `delay` fault needs `ms`")?)),
            "drop" => Fault::Drop,
            "dropAfterApply" => Fault::DropAfterApply,
            "dropAfterApplyThenFailReads" => Fault::DropAfterApplyThenFailReads {
                status: self.code.ok_or("a `dropAfterApplyThenFailReads` fault needs `code`")?,
                reads: self.count.ok_or("a `dropAfterApplyThenFailReads` fault needs `count`")?,
            },
            "applyThenFailReads" => Fault::ApplyThenFailReads {
                status: self.code.ok_or("a `applyThenFailReads` fault needs `code`")?,
                reads: self.count.ok_or("a `applyThenFailReads` fault needs `count`")?,
            },
            "malformed" => Fault::Malformed,
            "wrongShape" => Fault::WrongShape,
            "redirect" => Fault::Redirect {
                status: self.code.unwrap_or(307),
                location: self.location.ok_or("a `redirect` fault needs `location`")?,
            },
            other => {
                return Err(format!(
                    "unknown fault kind `{other}` (status, delay, drop, dropAfterApply, dropAfterApplyThenFailReads, \
                     applyThenFailReads, malformed, wrongShape, redirect)"
                ));
            }
        };
        Ok((self.method, fault))
    }
}

/// A running emulator. Dropping it stops the server and closes its connections.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<server::Server>,
}

impl Emulator {
    /// Starts on `127.0.0.1` with a free port; returns once it accepts connections.
    ///
    /// # Panics
    /// When no port can be bound (a test environment problem).
    pub fn start(config: EmulatorConfig) -> Emulator {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
            .unwrap_or_else(|e| panic!("the Ultravox emulator cannot listen on 127.0.0.1: {e}"))
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub fn start_on(addr: SocketAddr, config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(addr, config));
        let server = server::Server::spawn(listener, Arc::clone(&shared))?;
        Ok(Emulator { addr, shared, server: Some(server) })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request to the API routes so far, in order, faulted ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The account's full state, secrets included.
    pub fn account(&self, api_key: &str) -> Option<AccountState> {
        self.shared.lock().accounts.get(api_key).cloned()
    }

    /// Creates or replaces an account.
    pub fn set_account(&self, api_key: &str, state: AccountState) {
        self.shared.lock().accounts.insert(api_key.to_string(), state);
    }

    pub fn remove_account(&self, api_key: &str) -> Option<AccountState> {
        self.shared.lock().accounts.remove(api_key)
    }

    /// Every account, secrets included.
    pub fn snapshot(&self) -> Seed {
        Seed { accounts: self.shared.lock().accounts.clone() }
    }

    /// Queues a fault for the next API request.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().faults.push_back(QueuedFault { method: None, fault });
    }

    /// Queues a fault for the next API request with this method (e.g. `"PATCH"`); requests with other methods pass
    /// it by and take the first queued fault that applies to them.
    pub fn push_fault_for(&self, method: &str, fault: Fault) {
        self.shared.lock().faults.push_back(QueuedFault { method: Some(method.to_ascii_uppercase()), fault });
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// With `Some(status)`, every API request (after any queued fault) answers that status with its usual body.
    pub fn set_always_fail(&self, status: Option<u16>) {
        self.shared.lock().always_fail = status;
    }

    /// The prefix length of every secret without a per-field rule (0 gives empty prefixes).
    pub fn set_prefix_length(&self, default: usize) {
        self.shared.lock().prefixes.default = default;
    }

    /// The prefix length of one secret field: `"twilio.authToken"`, `"telnyx.apiKey"`, `"telnyx.publicKey"`,
    /// `"plivo.authToken"`.
    pub fn set_prefix_length_for(&self, field: &str, len: usize) {
        self.set_prefix_rule_for(field, PrefixRule::Length(len));
    }

    /// How one secret field's prefix is rendered (including not at all, or as `null`).
    pub fn set_prefix_rule_for(&self, field: &str, rule: PrefixRule) {
        self.shared.lock().prefixes.by_field.insert(field.to_string(), rule);
    }

    /// The time added to every API answer.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// The time added to every answer to this API key's requests (overrides [`Emulator::set_latency`] for it).
    pub fn set_latency_for(&self, api_key: &str, latency: Duration) {
        self.shared.lock().latency_by_key.insert(api_key.to_string(), latency);
    }

    /// The time added, on top of any other latency, to every write (any method but GET and HEAD) before it is
    /// carried out: reads answer at once while writes stay in flight.
    pub fn set_write_latency(&self, latency: Duration) {
        self.shared.lock().write_latency = latency;
    }

    /// The providers (`"twilio"`, `"telnyx"`, `"plivo"`) the account-level pair's answers leave out altogether, as
    /// a server that says nothing about them would.
    pub fn set_account_omits(&self, providers: &[&str]) {
        self.shared.lock().account_omits = providers.iter().map(|p| p.to_string()).collect();
    }

    /// The API requests being answered right now.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight
    }

    /// The most API requests that were being answered at the same time (latency included) so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    /// The origin (`scheme://host[:port]`) of the `next`/`previous` links of `GET /api/agents`, as a server behind a
    /// proxy writes them (`http://` behind a TLS-terminating proxy, an internal host name); `None`, the default,
    /// writes the origin the request was sent to (its `Host`).
    pub fn set_page_links_origin(&self, origin: Option<&str>) {
        self.shared.lock().page_links_origin = origin.map(|o| o.trim_end_matches('/').to_string());
    }

    /// With `true`, a provider-scoped `PATCH` is answered with only the fields its body held (a secret as its
    /// `{name}Prefix`), and the account-level `PATCH` with only the providers it held, as a server answering a merge
    /// with what changed would; `false` (the default) answers the whole provider or account, as the API's schema
    /// says.
    pub fn set_partial_patch_answers(&self, partial: bool) {
        self.shared.lock().partial_patch_answers = partial;
    }

    /// With `true`, a telephony-config `POST` or `PATCH` (provider-scoped or account-level) that succeeds is carried
    /// out and answered with its status (201 or 200) and an empty body, as a server that does not echo what it
    /// stored would; `false` (the default) answers the stored config, as the API's schema says.
    pub fn set_empty_write_answers(&self, empty: bool) {
        self.shared.lock().empty_write_answers = empty;
    }

    /// Default and largest page of `GET /api/agents`.
    pub fn set_agents_page_size(&self, size: usize) {
        self.shared.lock().agents_page_size = size.max(1);
    }

    /// Every write body so far that does not conform to the official request schema, described.
    pub fn schema_violations(&self) -> Vec<String> {
        self.shared.lock().schema_violations.clone()
    }

    /// Serves the account-level pair, or answers as if it were removed.
    pub fn set_account_endpoint(&self, mode: EndpointMode) {
        self.shared.lock().account_endpoint = mode;
    }

    /// Serves the provider-scoped endpoints, or answers as a server without them.
    pub fn set_provider_endpoints(&self, mode: EndpointMode) {
        self.shared.lock().provider_endpoints = mode;
    }

    /// `Deprecation`/`Sunset` headers on every answer of the account-level pair (`None`: none).
    pub fn set_deprecation(&self, headers: Option<DeprecationHeaders>) {
        self.shared.lock().deprecation = headers;
    }

    /// Serves the SIP endpoints, or answers as a server without them.
    pub fn set_sip_endpoints(&self, mode: EndpointMode) {
        self.shared.lock().sip_endpoints = mode;
    }

    /// Default and largest page of `GET /api/sip/registrations`.
    pub fn set_registrations_page_size(&self, size: usize) {
        self.shared.lock().sip.page_size = size.max(1);
    }

    /// The `successful` of registrations created from now on (`None`: not known yet).
    pub fn set_new_registration_status(&self, successful: Option<bool>) {
        self.shared.lock().sip.new_status = successful;
    }

    /// How a registration duplicating another's `username` and `proxy` is answered.
    pub fn set_duplicate_registration(&self, mode: DuplicateRegistration) {
        self.shared.lock().sip.duplicate = mode;
    }

    /// How a request for an unknown registration ID is answered.
    pub fn set_missing_registration(&self, mode: MissingRegistration) {
        self.shared.lock().sip.missing = mode;
    }

    /// How an allowance written without `toUserPattern` is answered.
    pub fn set_omitted_pattern(&self, mode: OmittedPattern) {
        self.shared.lock().sip.omitted_pattern = mode;
    }

    /// Whether a one-address range (`/32`) is shown as its bare address (`203.0.113.7`), as PostgreSQL's `inet`
    /// prints it.
    pub fn set_bare_host_ranges(&self, bare: bool) {
        self.shared.lock().sip.bare_host_ranges = bare;
    }

    /// How a registration's unset `outboundProxy` or `authUser` is answered.
    pub fn set_unset_registration_text(&self, mode: UnsetText) {
        self.shared.lock().sip.unset_text = mode;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// The state shared by the server's tasks and the [`Emulator`] handle.
struct Shared {
    /// Where the server listens, for absolute links when a request has no `Host`.
    addr: SocketAddr,
    inner: Mutex<Inner>,
}

impl Shared {
    fn new(addr: SocketAddr, config: EmulatorConfig) -> Self {
        let prefixes = Prefixes {
            default: if config.prefix_length == 0 { DEFAULT_PREFIX_LENGTH } else { config.prefix_length },
            by_field: config
                .prefix_length_by_field
                .into_iter()
                .map(|(field, len)| (field, PrefixRule::Length(len)))
                .collect(),
        };
        let agents_page_size =
            if config.agents_page_size == 0 { DEFAULT_AGENTS_PAGE_SIZE } else { config.agents_page_size };
        let registrations_page_size =
            if config.registrations_page_size == 0 { DEFAULT_AGENTS_PAGE_SIZE } else { config.registrations_page_size };
        Shared {
            addr,
            inner: Mutex::new(Inner {
                accounts: config.accounts.into_iter().collect(),
                requests: Vec::new(),
                faults: VecDeque::new(),
                always_fail: None,
                prefixes,
                agents_page_size,
                page_links_origin: None,
                partial_patch_answers: false,
                empty_write_answers: false,
                latency: config.latency,
                latency_by_key: BTreeMap::new(),
                write_latency: Duration::ZERO,
                failing_reads: None,
                account_omits: Vec::new(),
                in_flight: 0,
                max_in_flight: 0,
                account_endpoint: EndpointMode::Served,
                provider_endpoints: EndpointMode::Served,
                deprecation: None,
                schema_violations: Vec::new(),
                sip_endpoints: EndpointMode::Served,
                sip: sip::SipBehaviour::new(registrations_page_size),
            }),
        }
    }

    /// The state; a panic elsewhere while it was held does not make it unusable.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Inner {
    accounts: BTreeMap<String, AccountState>,
    requests: Vec<RecordedRequest>,
    faults: VecDeque<QueuedFault>,
    always_fail: Option<u16>,
    prefixes: Prefixes,
    agents_page_size: usize,
    /// The origin of the agents listing's page links, when not the request's own.
    page_links_origin: Option<String>,
    /// Provider-scoped PATCHes answered with only the fields they sent.
    partial_patch_answers: bool,
    /// Successful telephony-config POSTs and PATCHes answered with no body.
    empty_write_answers: bool,
    latency: Duration,
    latency_by_key: BTreeMap<String, Duration>,
    /// Added to every write, before it is carried out.
    write_latency: Duration,
    /// The next GETs fail: with this status, this many more times.
    failing_reads: Option<(u16, usize)>,
    /// Providers the account-level answers leave out.
    account_omits: Vec<String>,
    /// API requests being answered now, and the most at once so far.
    in_flight: usize,
    max_in_flight: usize,
    account_endpoint: EndpointMode,
    provider_endpoints: EndpointMode,
    deprecation: Option<DeprecationHeaders>,
    schema_violations: Vec<String>,
    sip_endpoints: EndpointMode,
    sip: sip::SipBehaviour,
}

impl Inner {
    /// The latency of an answer to a request with this method and API key.
    fn latency_for(&self, method: &str, api_key: Option<&str>) -> Duration {
        let base = api_key.and_then(|key| self.latency_by_key.get(key)).copied().unwrap_or(self.latency);
        if matches!(method, "GET" | "HEAD") { base } else { base + self.write_latency }
    }

    /// Whether this request is one of the reads set to fail, and with which status.
    fn failing_read(&mut self, method: &str) -> Option<u16> {
        if method != "GET" {
            return None;
        }
        let (status, left) = self.failing_reads.as_mut()?;
        let status = *status;
        *left -= 1;
        if *left == 0 {
            self.failing_reads = None;
        }
        Some(status)
    }

    /// Takes the first queued fault that applies to a request with this method.
    fn take_fault(&mut self, method: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|queued| queued.method.as_deref().is_none_or(|m| m == method))?;
        self.faults.remove(index).map(|queued| queued.fault)
    }
}

struct QueuedFault {
    /// Upper-case method the fault is restricted to.
    method: Option<String>,
    fault: Fault,
}

struct Prefixes {
    default: usize,
    /// By `"provider.field"`.
    by_field: BTreeMap<String, PrefixRule>,
}

impl Prefixes {
    fn rule(&self, provider: &str, field: &str) -> PrefixRule {
        self.by_field.get(&format!("{provider}.{field}")).copied().unwrap_or(PrefixRule::Length(self.default))
    }
}
