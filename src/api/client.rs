//! The HTTP client for the Ultravox API: authentication, timeouts, retries, and turning failures into [`ApiError`]s
//! that name the request (URL without credentials) and say what to do.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::api::wire::{self, ProviderWrite};
use crate::api::{ApiError, TelephonyApi};
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

impl Client {
    pub fn new(
        base: Url,
        api_key: SecretString,
        scrubber: Scrubber,
        options: ClientOptions,
    ) -> Result<Client, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            // Never follow a redirect: the X-API-Key header would go along to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Client { reason: e.to_string() })?;
        Ok(Client { http, base, api_key, scrubber: std::sync::Mutex::new(scrubber), options })
    }

    fn scrub(&self, text: &str) -> String {
        self.scrubber.lock().unwrap_or_else(|e| e.into_inner()).scrub(text)
    }

    /// Reads a config answer and remembers its prefixes, so that no later server message can show them.
    fn read_config(&self, body: &[u8]) -> Result<RemoteState, ApiError> {
        let state = wire::parse_account_config(body)
            .map_err(|e| ApiError::BadAnswer { url: display_url(&self.url(ACCOUNT_CONFIG_PATH)), reason: e.0 })?;
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

    /// Sends a request, retrying what is safe to retry, and returns the body of a 2xx answer.
    async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, ApiError> {
        let url = self.url(path);
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
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let read = response.bytes().await;
                    tracing::debug!(%method, url = %shown, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "answer");
                    match read {
                        Ok(bytes) if status.is_success() => return Ok(bytes.to_vec()),
                        Ok(bytes) => Failure::Status { status, retry_after, body: bytes.to_vec(), location },
                        Err(e) => Failure::Transport(e),
                    }
                }
                Err(e) => Failure::Transport(e),
            };
            let retryable = match &outcome {
                Failure::Status { status, .. } => matches!(status.as_u16(), 429 | 502 | 503 | 504),
                Failure::Transport(e) => e.is_connect() || e.is_request() || is_reset(e),
            };
            let wait = self.backoff(
                attempt,
                match &outcome {
                    Failure::Status { retry_after, .. } => *retry_after,
                    Failure::Transport(_) => None,
                },
            );
            let within_budget = started.elapsed() + wait < self.options.retry_budget;
            if retryable && attempt < self.options.max_attempts && within_budget {
                tracing::info!(
                    %method, url = %shown, attempt, reason = %outcome.reason(), wait_ms = wait.as_millis() as u64,
                    "retrying after a transient failure"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(self.failure(method, shown, outcome, attempt));
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.options.max_retry_after);
        }
        let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt - 1);
        base.min(Duration::from_secs(8)) + jitter(base / 2)
    }

    fn failure(&self, method: Method, url: String, failure: Failure, attempts: u32) -> ApiError {
        match failure {
            Failure::Status { status, body, location, .. } => {
                if status.is_redirection() {
                    let target = location
                        .as_deref()
                        .and_then(|l| self.base.join(l).ok())
                        .map(|u| display_url(&u))
                        .unwrap_or_else(|| "an unnamed location".into());
                    return ApiError::Redirect { method: method.to_string(), url, status: status.as_u16(), target };
                }
                let messages = wire::drf_messages(&body)
                    .map(|lines| lines.into_iter().map(|l| self.scrub(&truncate(&l, 300))).collect())
                    .unwrap_or_default();
                ApiError::Status { method: method.to_string(), url, status: status.as_u16(), messages, attempts }
            }
            Failure::Transport(e) if e.is_timeout() => {
                ApiError::Timeout { method: method.to_string(), url, after: self.options.request_timeout, attempts }
            }
            Failure::Transport(e) => {
                ApiError::Transport { method: method.to_string(), url, reason: transport_reason(&e), attempts }
            }
        }
    }
}

enum Failure {
    Status { status: StatusCode, retry_after: Option<Duration>, body: Vec<u8>, location: Option<String> },
    Transport(reqwest::Error),
}

impl Failure {
    fn reason(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Transport(e) => transport_reason(e),
        }
    }
}

fn is_reset(e: &reqwest::Error) -> bool {
    // hyper reports a connection closed before an answer as an "incomplete message" body/request error.
    let text = format!("{e:?}").to_lowercase();
    text.contains("incomplete")
        || text.contains("reset")
        || text.contains("connection closed")
        || text.contains("broken pipe")
}

fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if is_reset(e) {
        "the connection was closed before an answer".into()
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read".into()
    } else {
        "request failed".into()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate_parse(raw)?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` dates take.
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
    if !(1..=31).contains(&day) || year < 1970 || *h > 23 || *m > 59 || *s > 60 {
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
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    let nanos = max.as_nanos() as u64;
    if nanos == 0 { Duration::ZERO } else { Duration::from_nanos(h.finish() % nanos) }
}

impl TelephonyApi for Client {
    async fn fetch_config(&self) -> Result<RemoteState, ApiError> {
        let body = self.send(Method::GET, ACCOUNT_CONFIG_PATH, None).await?;
        self.read_config(&body)
    }

    async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError> {
        let body = wire::account_patch_body(writes);
        let answer = self.send(Method::PATCH, ACCOUNT_CONFIG_PATH, Some(body)).await?;
        self.read_config(&answer)
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
    }
}
