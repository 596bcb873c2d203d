//! The HTTP client for the Ultravox API: authentication, timeouts, retries, and turning failures into [`ApiError`]s
//! that name the request (URL without credentials) and say what to do.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::api::wire::Agent;
use crate::api::wire::{self, ProviderWrite};
use crate::api::{ApiError, GaveUp, TelephonyApi};
use crate::secret::Scrubber;
use crate::state::RemoteState;

pub const DEFAULT_API_URL: &str = "https://api.ultravox.ai";
const ACCOUNT_CONFIG_PATH: &str = "/api/accounts/me/telephony_config";

/// Limits for requests; the defaults suit CI.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// No retry starts after this much time has passed since the first attempt.
    pub retry_budget: Duration,
    /// The longest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_attempts: 4,
            retry_budget: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// A client for one account (one API key).
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: SecretString,
    /// Knows every secret the run resolved, and learns the remote prefixes from each answer.
    scrubber: std::sync::Mutex<Scrubber>,
    options: ClientOptions,
}

/// Checks an API base URL: `https://`, or `http://` for a loopback host only (the emulator).
pub fn parse_base_url(raw: &str) -> Result<Url, ApiError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ApiError::InvalidUrl { url: redact_url_text(raw), reason: e.to_string() })?;
    let shown = display_url(&url);
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ApiError::InsecureUrl { url: shown }),
        other => return Err(ApiError::InvalidUrl { url: shown, reason: format!("unsupported scheme `{other}`") }),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::InvalidUrl { url: shown, reason: "no host".into() });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ApiError::InvalidUrl { url: shown, reason: "a base URL has no query or fragment".into() });
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A URL as it may be shown: no user, no password, no query.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_string()
}

fn redact_url_text(raw: &str) -> String {
    // An unparseable URL may still carry `user:pass@`; drop everything before an `@` in the authority.
    match raw.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, after)) if !after.contains('/') || rest.find('@') < rest.find('/') => {
                format!("{scheme}://{after}")
            }
            _ => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

/// The HTTP client every account of a run shares (one connection pool): timeouts, no redirects, and no proxy for a
/// loopback API.
pub fn http_client(base: &Url, options: &ClientOptions) -> Result<reqwest::Client, ApiError> {
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        // Never follow a redirect: the X-API-Key header would go along to wherever it points.
        .redirect(reqwest::redirect::Policy::none());
    if is_loopback(base) {
        // A local API (the emulator) is reached directly, whatever HTTP(S)_PROXY says.
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| ApiError::Client { reason: e.to_string() })
}

impl Client {
    /// A client with its own HTTP client (connection pool).
    pub fn new(
        base: Url,
        api_key: SecretString,
        scrubber: Scrubber,
        options: ClientOptions,
    ) -> Result<Client, ApiError> {
        let http = http_client(&base, &options)?;
        Ok(Client::with_http(http, base, api_key, scrubber, options))
    }

    /// A client for one account over a shared HTTP client (from [`http_client`] with the same `base` and `options`):
    /// its own API key, scrubber and retry state.
    pub fn with_http(
        http: reqwest::Client,
        base: Url,
        api_key: SecretString,
        scrubber: Scrubber,
        options: ClientOptions,
    ) -> Client {
        Client { http, base, api_key, scrubber: std::sync::Mutex::new(scrubber), options }
    }

    fn scrub(&self, text: &str) -> String {
        self.scrubber.lock().unwrap_or_else(|e| e.into_inner()).scrub(text)
    }

    /// Reads a config answer and remembers its prefixes, so that no later server message can show them.
    fn read_config(&self, method: &Method, body: &[u8]) -> Result<RemoteState, ApiError> {
        let state = wire::parse_account_config(body).map_err(|e| ApiError::BadAnswer {
            method: method.to_string(),
            url: display_url(&self.url(ACCOUNT_CONFIG_PATH)),
            reason: e.0,
        })?;
        let mut scrubber = self.scrubber.lock().unwrap_or_else(|e| e.into_inner());
        for provider in state.providers.iter().flatten() {
            for prefix in provider.prefixes.values().flatten() {
                scrubber.add_text(prefix.expose());
            }
        }
        Ok(state)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Sends a request and returns the body of a 2xx answer, retrying transient failures within the limits of
    /// [`ClientOptions`]. `idempotent` says whether sending the request twice leaves the account as sending it once
    /// does; only then is a request retried when it may already have been processed (see [`is_retried`]).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotent: bool,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_to(method, self.url(path), body, idempotent).await
    }

    /// [`Client::send`] to a full URL of the API's origin (a pagination link).
    async fn send_to(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        idempotent: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let shown = display_url(&url);
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let mut request = self.http.request(method.clone(), url.clone());
            let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| ApiError::BadApiKey)?;
            key.set_sensitive(true);
            request = request.header("X-API-Key", key);
            if let Some(body) = &body {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            tracing::debug!(%method, url = %shown, attempt, "sending request");
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let read = read_body(response).await;
                    tracing::debug!(
                        %method, url = %shown, status = status.as_u16(),
                        elapsed_ms = started.elapsed().as_millis() as u64, "answer"
                    );
                    match read {
                        Ok(bytes) if status.is_success() => return Ok(bytes),
                        Ok(body) => Failure::Status { status, retry_after, body, location },
                        // An error status decides on its own; its body only adds a message.
                        Err(_) if !status.is_success() => {
                            Failure::Status { status, retry_after, body: Vec::new(), location }
                        }
                        Err(BodyError::TooLarge) => {
                            return Err(ApiError::BadAnswer {
                                method: method.to_string(),
                                url: shown,
                                reason: format!("the answer is larger than {} bytes", MAX_ANSWER_BYTES),
                            });
                        }
                        Err(BodyError::Read(e)) => Failure::from_transport(e),
                    }
                }
                Err(e) => Failure::from_transport(e),
            };
            let gave_up = if is_retried(&failure, idempotent) {
                let (wait, asked_by_server) = match failure.retry_after() {
                    Some(asked) => (asked, true),
                    None => (self.backoff(attempt), false),
                };
                match self.next_attempt(attempt, started, wait, asked_by_server) {
                    Ok(()) => {
                        tracing::info!(
                            "{method} {shown}: {} (attempt {attempt} of {}); retrying in {:.1}s{}",
                            failure.reason(),
                            self.options.max_attempts,
                            wait.as_secs_f64(),
                            if asked_by_server { ", as the server's Retry-After asks" } else { "" },
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    Err(gave_up) => Some(gave_up),
                }
            } else {
                None
            };
            return Err(self.failure(method, shown, failure, attempt, gave_up));
        }
    }

    /// Whether another attempt may start after `wait`, or why not.
    fn next_attempt(
        &self,
        attempt: u32,
        started: Instant,
        wait: Duration,
        asked_by_server: bool,
    ) -> Result<(), GaveUp> {
        if asked_by_server && wait > self.options.max_retry_after {
            return Err(GaveUp::RetryAfterTooLong { asked: wait, cap: self.options.max_retry_after });
        }
        if attempt >= self.options.max_attempts {
            return Err(GaveUp::Attempts);
        }
        if started.elapsed() + wait >= self.options.retry_budget {
            return Err(GaveUp::Budget(self.options.retry_budget));
        }
        Ok(())
    }

    /// Exponential backoff with jitter: about 0.25 s, 0.5 s, 1 s, ... (at most 8 s), each plus up to half again.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(250)
            .checked_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF);
        base + jitter(base / 2)
    }

    fn failure(
        &self,
        method: Method,
        url: String,
        failure: Failure,
        attempts: u32,
        gave_up: Option<GaveUp>,
    ) -> ApiError {
        let method = method.to_string();
        match failure {
            Failure::Status { status, body, location, .. } => {
                if status.is_redirection() {
                    let target = location
                        .as_deref()
                        .and_then(|l| Url::parse(&url).ok().and_then(|base| base.join(l).ok()))
                        .map(|u| self.scrub(&clean_server_text(&display_url(&u))))
                        .unwrap_or_else(|| "no valid location".into());
                    return ApiError::Redirect { method, url, status: status.as_u16(), target };
                }
                let mut messages: Vec<String> = wire::drf_messages(&body)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|line| truncate(&self.scrub(&clean_server_text(&line)), MAX_MESSAGE_CHARS))
                    .collect();
                if messages.len() > MAX_MESSAGES {
                    let more = messages.len() - (MAX_MESSAGES - 1);
                    messages.truncate(MAX_MESSAGES - 1);
                    messages.push(format!("… and {more} more"));
                }
                ApiError::Status { method, url, status: status.as_u16(), messages, attempts, gave_up }
            }
            Failure::Timeout(_) => ApiError::Timeout { method, url, after: self.options.request_timeout, attempts },
            Failure::Connect(e) => {
                ApiError::Transport { method, url, reason: transport_reason(&e), attempts, gave_up, sent: false }
            }
            Failure::Closed(e) | Failure::Other(e) => {
                ApiError::Transport { method, url, reason: transport_reason(&e), attempts, gave_up, sent: true }
            }
        }
    }
}

/// The longest wait between attempts that the client picks itself (a server's `Retry-After` is capped separately).
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The largest answer read; a telephony config is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Server messages shown per error, and characters per message.
const MAX_MESSAGES: usize = 20;
const MAX_MESSAGE_CHARS: usize = 300;

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads an answer's body, refusing one larger than [`MAX_ANSWER_BYTES`] before it is read whole.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|len| len > MAX_ANSWER_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// One failed attempt.
enum Failure {
    /// An answer with a status other than 2xx.
    Status { status: StatusCode, retry_after: Option<Duration>, body: Vec<u8>, location: Option<String> },
    /// No connection could be made: nothing was sent.
    Connect(reqwest::Error),
    /// The connection was closed or reset before a complete answer: the request may have been processed.
    Closed(reqwest::Error),
    /// No complete answer within the request timeout: the request may have been processed.
    Timeout(reqwest::Error),
    /// Anything else (TLS, protocol): the request may have been processed.
    Other(reqwest::Error),
}

impl Failure {
    fn from_transport(e: reqwest::Error) -> Failure {
        // A connect timeout is a failure to connect (nothing was sent), not a slow answer.
        if e.is_connect() {
            Failure::Connect(e)
        } else if e.is_timeout() {
            Failure::Timeout(e)
        } else if is_closed(&e) {
            Failure::Closed(e)
        } else {
            Failure::Other(e)
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn reason(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Connect(e) | Failure::Closed(e) | Failure::Timeout(e) | Failure::Other(e) => transport_reason(e),
        }
    }
}

/// Which failures are retried. A failure is transient when the same request may well succeed a moment later; it is
/// retried when, in addition, repeating the request cannot change the outcome:
///
/// - 429 and 503: the API refused the request before processing it; any request is retried.
/// - No connection: nothing was sent; any request is retried.
/// - 502, 504, and a connection closed or reset before the answer: a proxy or the network failed, and the API may
///   or may not have processed the request; only an idempotent request is retried.
/// - Everything else is not retried: other statuses (500 and every 4xx among them) would answer the same again, a
///   timeout has already waited as long as `--timeout` allows, and a malformed answer or a redirect is not
///   transient.
fn is_retried(failure: &Failure, idempotent: bool) -> bool {
    match failure {
        Failure::Status { status, .. } => match status.as_u16() {
            429 | 503 => true,
            502 | 504 => idempotent,
            _ => false,
        },
        Failure::Connect(_) => true,
        Failure::Closed(_) => idempotent,
        Failure::Timeout(_) | Failure::Other(_) => false,
    }
}

/// Whether the connection closed or was reset before a complete answer: an I/O error of that kind, or hyper's
/// "connection closed before message completed", anywhere in the error's sources.
fn is_closed(e: &reqwest::Error) -> bool {
    use std::error::Error as _;
    use std::io::ErrorKind;
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        let text = err.to_string();
        if text.starts_with("connection closed before message completed") || text.starts_with("operation was canceled")
        {
            return true;
        }
        source = err.source();
    }
    false
}

fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_connect() && e.is_timeout() {
        "could not connect (timed out)".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if is_closed(e) {
        "the connection was closed before a complete answer".into()
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read".into()
    } else {
        "the request failed".into()
    }
}

/// A server's text made safe to print: control characters (which could move the cursor or recolour a terminal) and
/// bidirectional overrides (which could reorder what is shown) become `�`; line breaks and tabs become spaces.
fn clean_server_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

/// `Retry-After` as a wait from now: delta-seconds, or an HTTP date (a past date is no wait).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate_parse(raw)?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` dates take. Years past 9999 are
/// refused, so that no arithmetic here can overflow.
fn httpdate_parse(raw: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let day: u64 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || !(1970..=9999).contains(&year) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    std::time::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let nanos = max.as_nanos() as u64;
    if nanos == 0 { Duration::ZERO } else { Duration::from_nanos(h.finish() % nanos) }
}

const AGENTS_PATH: &str = "/api/agents";
/// Pages of `GET /api/agents` followed for one name before giving up.
const MAX_AGENT_PAGES: usize = 50;

impl TelephonyApi for Client {
    async fn fetch_config(&self) -> Result<RemoteState, ApiError> {
        let body = self.send(Method::GET, ACCOUNT_CONFIG_PATH, None, true).await?;
        self.read_config(&Method::GET, &body)
    }

    async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError> {
        let body = wire::account_patch_body(writes);
        // Idempotent: every written provider is a complete block or `null`, so a repeat sets the same account.
        let answer = self.send(Method::PATCH, ACCOUNT_CONFIG_PATH, Some(body), true).await?;
        self.read_config(&Method::PATCH, &answer)
    }

    async fn find_agents(&self, search: &str) -> Result<Vec<Agent>, ApiError> {
        let mut url = self.url(AGENTS_PATH);
        url.query_pairs_mut().append_pair("search", search).append_pair("pageSize", "100");
        let mut agents = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_AGENT_PAGES {
            let shown = display_url(&url);
            let bad = |reason: String| ApiError::BadAnswer { method: "GET".into(), url: shown.clone(), reason };
            let body = self.send_to(Method::GET, url.clone(), None, true).await?;
            let page = wire::parse_agents_page(&body).map_err(|e| bad(e.0))?;
            agents.extend(page.agents);
            let Some(next) = page.next else { return Ok(agents) };
            let next = self.base.join(&next).map_err(|_| bad("its `next` link is not a URL".into()))?;
            if next.origin() != self.base.origin() {
                // The API key would go along: never follow a link off the API's origin.
                return Err(bad(format!(
                    "its `next` link points at another origin ({}); not followed",
                    display_url(&next)
                )));
            }
            if !seen.insert(next.to_string()) {
                return Err(bad("its `next` links go round in a loop".into()));
            }
            url = next;
        }
        Err(ApiError::BadAnswer {
            method: "GET".into(),
            url: display_url(&self.url(AGENTS_PATH)),
            reason: format!(
                "more than {MAX_AGENT_PAGES} pages of agents match {search:?}; write the agent's ID instead"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(parse_base_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert!(parse_base_url("http://[::1]:1").is_ok());
        assert!(parse_base_url("https://api.ultravox.ai").is_ok());
        assert!(matches!(parse_base_url("http://api.ultravox.ai"), Err(ApiError::InsecureUrl { .. })));
        assert!(matches!(parse_base_url("http://10.0.0.1"), Err(ApiError::InsecureUrl { .. })));
        assert!(matches!(parse_base_url("ftp://x"), Err(ApiError::InvalidUrl { .. })));
    }

    #[test]
    fn shown_urls_carry_no_credentials() {
        let url = Url::parse("https://user:pw@example.com/base?token=x").unwrap();
        assert_eq!(display_url(&url), "https://example.com/base");
        let err = parse_base_url("https://user:pw@exa mple.com").unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
    }

    #[test]
    fn retry_after_dates() {
        let t = httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        assert!(httpdate_parse("tomorrow").is_none());
        // A hostile date cannot overflow the arithmetic.
        assert!(httpdate_parse("Sun, 06 Nov 99999999999999 08:49:37 GMT").is_none());
        assert!(httpdate_parse("Sun, 06 Nov 1994 99:49:37 GMT").is_none());
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a past date is no wait");
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&headers), None);
    }

    fn client(options: ClientOptions) -> Client {
        Client::new(
            parse_base_url("http://127.0.0.1:1").unwrap(),
            SecretString::from("k"),
            Scrubber::default(),
            options,
        )
        .unwrap()
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let c = client(ClientOptions::default());
        for (attempt, base_ms) in [(1, 250), (2, 500), (3, 1000), (6, 8000), (40, 8000), (u32::MAX, 8000)] {
            let wait = c.backoff(attempt);
            let base = Duration::from_millis(base_ms);
            assert!(wait >= base && wait <= base + base / 2, "attempt {attempt}: {wait:?}");
        }
    }

    #[test]
    fn giving_up_by_attempts_budget_and_retry_after() {
        let c = client(ClientOptions { max_attempts: 3, retry_budget: Duration::from_secs(5), ..Default::default() });
        let now = Instant::now();
        assert_eq!(c.next_attempt(1, now, Duration::from_secs(1), false), Ok(()));
        assert_eq!(c.next_attempt(3, now, Duration::ZERO, false), Err(GaveUp::Attempts));
        assert_eq!(c.next_attempt(1, now, Duration::from_secs(5), false), Err(GaveUp::Budget(Duration::from_secs(5))));
        assert_eq!(
            c.next_attempt(1, now, Duration::from_secs(31), true),
            Err(GaveUp::RetryAfterTooLong { asked: Duration::from_secs(31), cap: Duration::from_secs(30) })
        );
    }

    #[test]
    fn which_statuses_are_retried() {
        let status = |code: u16| Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            body: Vec::new(),
            location: None,
        };
        for code in [429, 503] {
            assert!(is_retried(&status(code), false), "{code}");
        }
        for code in [502, 504] {
            assert!(is_retried(&status(code), true), "{code}");
            assert!(!is_retried(&status(code), false), "{code} may have been processed");
        }
        for code in [300, 301, 307, 308, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 501, 505] {
            assert!(!is_retried(&status(code), true), "{code}");
        }
    }

    #[test]
    fn server_text_cannot_drive_a_terminal() {
        assert_eq!(clean_server_text("a\u{1b}[31mb\nc\u{202e}d\u{7f}"), "a\u{fffd}[31mb c\u{fffd}d\u{fffd}");
        assert_eq!(clean_server_text("Ça va: 日本"), "Ça va: 日本");
    }
}
