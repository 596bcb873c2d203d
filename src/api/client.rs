//! The HTTP client for the Ultravox API: the send loop (authentication, timeouts, retries per [`retry`]), turning
//! failures into [`ApiError`]s that name the request (URL without credentials) and say what to do, and the
//! [`TelephonyApi`] implementation over both endpoint families. The limits it works within are [`ClientOptions`].

use std::sync::Mutex;
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::api::retry::{self, Failure, is_retried};
use crate::api::sip;
use crate::api::url::{is_loopback, join, shown_url};
use crate::api::wire::Agent;
use crate::api::wire::{self, ProviderWrite, ShapeError};
use crate::api::{ApiError, Deprecation, PatchAnswer, ServerMessage, TelephonyApi};
use crate::endpoints::{REGISTRATIONS_PATH, SIP_PATH};
use crate::provider::Provider;
use crate::redact::{self, Outside};
use crate::state::{
    DesiredProvider, DesiredRegistration, DesiredSip, RemoteProvider, RemoteRegistration, RemoteSecret, RemoteSip,
    RemoteState,
};

/// The options [`Client::new`] takes, where its callers look for them (they live in [`options`](super::options)).
pub use crate::api::options::ClientOptions;
pub use crate::api::url::{DEFAULT_API_URL, display_url, parse_base_url};

pub use crate::endpoints::{ACCOUNT_CONFIG_PATH, provider_path};

/// A client for one account (one API key).
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: SecretString,
    options: ClientOptions,
    /// The remote prefixes this account's answers held: the server's free text is cleaned of them.
    prefixes: Mutex<std::collections::BTreeSet<String>>,
    /// The first answer that carried a `Deprecation` or `Sunset` header.
    deprecation: Mutex<Option<Deprecation>>,
}

/// A successful answer.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
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
    pub fn new(base: Url, api_key: SecretString, options: ClientOptions) -> Result<Client, ApiError> {
        let http = http_client(&base, &options)?;
        Ok(Client::with_http(http, base, api_key, options))
    }

    /// A client for one account over a shared HTTP client (from [`http_client`] with the same `base` and `options`):
    /// its own API key, retry state and deprecation notice.
    pub fn with_http(http: reqwest::Client, base: Url, api_key: SecretString, options: ClientOptions) -> Client {
        Client { http, base, api_key, options, prefixes: Mutex::default(), deprecation: Mutex::new(None) }
    }

    /// The first `Deprecation`/`Sunset` notice an answer carried, if any.
    pub fn deprecation(&self) -> Option<Deprecation> {
        self.deprecation.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Outside text this account's server said: one line, cleaned of the prefixes its answers held where they stand as
    /// words, checked for secrets when it is shown.
    fn said(&self, text: &str) -> Outside {
        let prefixes = self.prefixes.lock().unwrap_or_else(|e| e.into_inner());
        Outside::line(redact::without_words(text, &prefixes), MAX_MESSAGE_CHARS)
    }

    /// Remembers a provider's prefixes, so that no later server message can show them.
    fn learn_prefixes(&self, provider: &RemoteProvider) {
        let mut prefixes = self.prefixes.lock().unwrap_or_else(|e| e.into_inner());
        prefixes.extend(provider.prefixes.values().flatten().map(|p| p.expose().to_string()));
    }

    /// Reads an account-level config answer that must speak of each of `required`, and remembers its prefixes.
    fn read_config(&self, method: &Method, body: &[u8], required: &[Provider]) -> Result<RemoteState, ApiError> {
        let state = wire::parse_account_answer(body, required).map_err(|e| ApiError::BadAnswer {
            method: method.to_string(),
            url: display_url(&self.url(ACCOUNT_CONFIG_PATH)),
            reason: e.0,
        })?;
        for provider in state.providers.iter().flatten() {
            self.learn_prefixes(provider);
        }
        Ok(state)
    }

    /// Reads a provider-scoped answer and remembers its prefixes.
    fn read_provider(&self, method: &Method, provider: Provider, body: &[u8]) -> Result<RemoteProvider, ApiError> {
        let read = wire::parse_provider_config(provider, body).map_err(|e| ApiError::BadAnswer {
            method: method.to_string(),
            url: display_url(&self.url(&provider_path(provider))),
            reason: e.0,
        })?;
        self.learn_prefixes(&read);
        Ok(read)
    }

    /// Reads a provider back after a write that the server answered `status` (2xx) with no body (a `204`, or an empty
    /// `200`/`201`): the server says it was done, but shows nothing to check, so one `GET` shows what it left. Answers
    /// the provider and the GET's body. A read that fails, or that finds the provider not configured, leaves the
    /// write's outcome unchecked: [`ApiError::NotReadBack`], which the caller reports as in doubt.
    async fn read_back(
        &self,
        method: &Method,
        status: StatusCode,
        provider: Provider,
    ) -> Result<(RemoteProvider, Vec<u8>), ApiError> {
        let path = provider_path(provider);
        tracing::info!("{method} {path} answered HTTP {} with no body: reading {provider} back", status.as_u16());
        let unread = |read: &ApiError| self.unread_write(method, &path, status, read);
        let answer = match self.send(Method::GET, &path, None, true).await {
            Ok(answer) => answer,
            Err(read @ ApiError::Status { status: 404, detail_body: true, .. }) => {
                return Err(ApiError::NotReadBack {
                    method: method.to_string(),
                    url: display_url(&self.url(&path)),
                    status: status.as_u16(),
                    read: format!("reading {provider} back found it not configured ({read})"),
                });
            }
            Err(read) => return Err(unread(&no_such_endpoint(read))),
        };
        let read = self.read_provider(&Method::GET, provider, &answer.body).map_err(|read| unread(&read))?;
        Ok((read, answer.body))
    }

    /// A write answered `status` with no body, whose outcome could not be read back (`read` failed).
    fn unread_write(&self, method: &Method, path: &str, status: StatusCode, read: &ApiError) -> ApiError {
        ApiError::NotReadBack {
            method: method.to_string(),
            url: display_url(&self.url(path)),
            status: status.as_u16(),
            read: format!("reading it back failed: {read}"),
        }
    }

    fn url(&self, path: &str) -> Url {
        join(&self.base, path)
    }

    /// Reads a SIP config answer; its fallback handler's secrets become secrets of the run before anything else.
    fn read_sip(&self, method: &Method, body: &[u8]) -> Result<RemoteSip, ApiError> {
        let sip = sip::parse_sip(body).map_err(|e| ApiError::BadAnswer {
            method: method.to_string(),
            url: display_url(&self.url(SIP_PATH)),
            reason: e.0,
        })?;
        for secret in sip.fallback.iter().flat_map(|f| &f.secrets) {
            // One of 8 characters or more: every value shown is checked for it. A shorter one (someone set it by
            // hand) cannot be told from ordinary text inside data; like a prefix, it is kept out of what this server
            // says where it stands as a word of its own.
            crate::redact::register_secret(secret.secret());
            if secret.expose().chars().count() < crate::redact::PIECE_CHARS {
                self.prefixes.lock().unwrap_or_else(|e| e.into_inner()).insert(secret.expose().to_string());
            }
        }
        Ok(sip)
    }

    /// Reads a registration answer.
    fn read_registration(&self, method: &Method, path: &str, body: &[u8]) -> Result<RemoteRegistration, ApiError> {
        sip::parse_registration_body(body).map_err(|e| ApiError::BadAnswer {
            method: method.to_string(),
            url: shown_url(&self.url(path)),
            reason: e.0,
        })
    }

    /// Every item of a paginated listing, following each page's `next` (a full URL, on the API's own origin only)
    /// for at most `max_pages` pages; `Ok((items, false))` when there were more.
    async fn pages<T>(
        &self,
        mut url: Url,
        path: &str,
        max_pages: usize,
        bad_page: impl Fn(String, String) -> ApiError,
        parse: impl Fn(&[u8]) -> Result<(Vec<T>, Option<String>), ShapeError>,
    ) -> Result<(Vec<T>, bool), ApiError> {
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..max_pages {
            let shown = shown_url(&url);
            let bad = |reason: String| bad_page(shown.clone(), reason);
            let body = self.send_to(Method::GET, url.clone(), None, true, &mut self.attempts()).await?.body;
            let (page, next) = parse(&body).map_err(|e| bad(e.0))?;
            items.extend(page);
            let Some(next) = next else { return Ok((items, true)) };
            let next = self.base.join(&next).map_err(|_| bad("its `next` link is not a URL".into()))?;
            // The API key never goes off the API's origin: a link naming another (a server behind a proxy) is read
            // from the API's own path with the link's query.
            let next = self.next_page(next, path);
            if !seen.insert(next.to_string()) {
                return Err(bad("its `next` links go round in a loop".into()));
            }
            url = next;
        }
        Ok((items, false))
    }

    /// Sends a request and returns a 2xx answer, retrying transient failures within the limits of
    /// [`ClientOptions`]. `idempotent` says whether sending the request twice leaves the account as sending it once
    /// does; only then is a request retried when it may already have been processed (see [`is_retried`]).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotent: bool,
    ) -> Result<Answer, ApiError> {
        self.send_to(method, self.url(path), body, idempotent, &mut self.attempts()).await
    }

    /// [`Client::send`] to a full URL of the API's origin (a pagination link), within `attempts` (which it counts
    /// its attempts against). Once a signal was received ([`crate::stop`]) it sends nothing more: the attempt in
    /// flight is abandoned, and no other starts.
    async fn send_to(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        idempotent: bool,
        attempts: &mut Attempts,
    ) -> Result<Answer, ApiError> {
        let shown = shown_url(&url);
        let started = *attempts.started.get_or_insert_with(Instant::now);
        // Whether an earlier attempt may have been processed: then a later failure still leaves the outcome unknown.
        let mut earlier_unknown = false;
        let interrupted = |signal, in_flight: bool, earlier_unknown: bool| ApiError::Interrupted {
            method: method.to_string(),
            url: shown.clone(),
            signal,
            in_flight,
            may_have_landed: earlier_unknown || (in_flight && method != Method::GET),
        };
        loop {
            if let Some(signal) = crate::stop::requested() {
                return Err(interrupted(signal, false, earlier_unknown));
            }
            attempts.made += 1;
            let attempt = attempts.made;
            let mut request = self.http.request(method.clone(), url.clone());
            let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| ApiError::BadApiKey)?;
            key.set_sensitive(true);
            request = request.header("X-API-Key", key);
            if let Some(body) = &body {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            tracing::debug!(%method, url = %shown, attempt, "sending request");
            let exchange = async {
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        self.note_deprecation(&method, &url, response.headers());
                        let retry_after = retry::retry_after(response.headers());
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
                            Ok(body) if status.is_success() => Ok(Answer { status, body }),
                            Ok(body) => Err(Failure::Status { status, retry_after, body, location }),
                            // An error status decides on its own; its body only adds a message.
                            Err(_) if !status.is_success() => {
                                Err(Failure::Status { status, retry_after, body: Vec::new(), location })
                            }
                            Err(BodyError::TooLarge) => Err(Failure::TooLarge),
                            Err(BodyError::Read(e)) => Err(Failure::from_transport(e)),
                        }
                    }
                    Err(e) => Err(Failure::from_transport(e)),
                }
            };
            // A signal abandons the attempt: the request may have reached the server.
            let failure = tokio::select! {
                biased;
                signal = crate::stop::signalled() => return Err(interrupted(signal, true, earlier_unknown)),
                outcome = exchange => match outcome {
                    Ok(answer) => return Ok(answer),
                    Err(failure) => failure,
                },
            };
            let gave_up = if is_retried(&failure, idempotent) {
                let (wait, asked_by_server) = match failure.retry_after() {
                    Some(asked) => (asked, true),
                    None => (retry::backoff(attempt), false),
                };
                match retry::next_attempt(attempts, started, wait, asked_by_server, self.options.max_retry_after) {
                    Ok(()) => {
                        tracing::info!(
                            "{method} {shown}: {} (attempt {attempt} of {}); retrying in {:.1}s{}",
                            failure.reason(),
                            attempts.max,
                            wait.as_secs_f64(),
                            if asked_by_server { ", as the server's Retry-After asks" } else { "" },
                        );
                        earlier_unknown |= failure.may_have_been_processed();
                        tokio::select! {
                            biased;
                            signal = crate::stop::signalled() => {
                                return Err(interrupted(signal, false, earlier_unknown));
                            }
                            () = tokio::time::sleep(wait) => {}
                        }
                        continue;
                    }
                    Err(gave_up) => Some(gave_up),
                }
            } else {
                None
            };
            return Err(self.failure(method, shown, failure, attempt, gave_up, earlier_unknown));
        }
    }

    /// Where a listing's `next` link leads (agents, SIP registrations): the link itself when it is on the API's
    /// origin; otherwise (a server behind a proxy writes its own view of itself: `http://` behind TLS, an internal
    /// host name) the same page of the listing on the API's origin, that is the link's query (its cursor) on our own
    /// `path`. The API key never goes to another origin.
    fn next_page(&self, next: Url, path: &str) -> Url {
        if next.origin() == self.base.origin() {
            return next;
        }
        tracing::debug!(
            link = %shown_url(&next),
            "a listing's next link names another origin: reading that page from the API's own"
        );
        let mut url = self.url(path);
        url.set_query(next.query());
        url
    }

    /// Keeps the first `Deprecation`/`Sunset` notice: which endpoint, and the sunset date when one is given.
    fn note_deprecation(&self, method: &Method, url: &Url, headers: &HeaderMap) {
        let deprecated = headers.contains_key("deprecation");
        let sunset = headers.get("sunset");
        if !deprecated && sunset.is_none() {
            return;
        }
        let mut slot = self.deprecation.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        // Only a date that parses is shown (re-formatted), so that no server text reaches the terminal as is.
        let sunset = sunset
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
            .map(httpdate::fmt_http_date);
        let path = url.path().strip_prefix(self.base.path().trim_end_matches('/')).unwrap_or(url.path());
        *slot = Some(Deprecation { method: method.to_string(), path: path.to_string(), sunset });
    }

    fn failure(
        &self,
        method: Method,
        url: String,
        failure: Failure,
        attempts: u32,
        gave_up: Option<GaveUp>,
        earlier_unknown: bool,
    ) -> ApiError {
        let method = method.to_string();
        match failure {
            Failure::Status { status, body, location, retry_after } => {
                if status.is_redirection() {
                    let target = location
                        .as_deref()
                        .and_then(|l| Url::parse(&url).ok().and_then(|base| base.join(l).ok()))
                        .map(|u| self.said(&display_url(&u)))
                        .unwrap_or_else(|| Outside::line("no valid location", MAX_MESSAGE_CHARS));
                    return ApiError::Redirect { method, url, status: status.as_u16(), target };
                }
                let detail_body = wire::is_detail_body(&body);
                let drf = wire::drf_messages(&body);
                let mut messages: Vec<ServerMessage> = drf
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| ServerMessage {
                        field: (!m.field.is_empty()).then(|| self.said(&m.field)),
                        text: self.said(&m.text),
                    })
                    .collect();
                if messages.len() > MAX_MESSAGES {
                    let more = messages.len() - (MAX_MESSAGES - 1);
                    messages.truncate(MAX_MESSAGES - 1);
                    messages.push(ServerMessage {
                        field: None,
                        text: Outside::line(format!("… and {more} more"), MAX_MESSAGE_CHARS),
                    });
                }
                ApiError::Status {
                    method,
                    url,
                    status: status.as_u16(),
                    messages,
                    attempts,
                    gave_up,
                    detail_body,
                    earlier_unknown,
                    retry_after: retry_after.map(|wait| {
                        u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).unwrap_or(u32::MAX)
                    }),
                }
            }
            Failure::Timeout(_) => {
                ApiError::Timeout { method, url, after: self.options.request_timeout, attempts, gave_up: None }
            }
            Failure::Connect(e) => ApiError::Transport {
                method,
                url,
                reason: retry::transport_reason(&e),
                attempts,
                gave_up,
                sent: false,
                earlier_unknown,
            },
            Failure::Closed(e) | Failure::Other(e) => ApiError::Transport {
                method,
                url,
                reason: retry::transport_reason(&e),
                attempts,
                gave_up,
                sent: true,
                earlier_unknown,
            },
            // Never retried: not transient.
            Failure::TooLarge => ApiError::BadAnswer {
                method,
                url,
                reason: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
            },
        }
    }
}

use crate::api::{Attempts, GaveUp};

/// A provider-scoped request answered 404 without the API's `{"detail": ...}` body: the path itself does not exist
/// on this server (a wrong `--api-url`, or a server without the provider-scoped endpoints). Other errors pass.
fn no_such_endpoint(error: ApiError) -> ApiError {
    match error {
        ApiError::Status { status: 404, detail_body: false, method, url, .. } => {
            ApiError::NoSuchEndpoint { method, url }
        }
        other => other,
    }
}

/// Whether a successful answer has no body to read (a `204`, or an empty `200`/`201`).
fn has_no_body(answer: &Answer) -> bool {
    answer.body.iter().all(u8::is_ascii_whitespace)
}

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

const AGENTS_PATH: &str = "/api/agents";
/// Pages of `GET /api/agents` followed for one name before giving up.
const MAX_AGENT_PAGES: usize = 50;

impl TelephonyApi for Client {
    async fn fetch_config(&self) -> Result<RemoteState, ApiError> {
        let answer = self.send(Method::GET, ACCOUNT_CONFIG_PATH, None, true).await?;
        self.read_config(&Method::GET, &answer.body, &Provider::ALL)
    }

    async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError> {
        let body = wire::account_patch_body(writes);
        // Idempotent: every written provider is a complete block or `null`, so a repeat sets the same account.
        let answer = self.send(Method::PATCH, ACCOUNT_CONFIG_PATH, Some(body), true).await?;
        if has_no_body(&answer) {
            // Done, by the server's word, but not shown: what it left is read with one GET.
            tracing::info!(
                "PATCH {ACCOUNT_CONFIG_PATH} answered HTTP {} with no body: reading the account back",
                answer.status.as_u16()
            );
            return self
                .fetch_config()
                .await
                .map_err(|read| self.unread_write(&Method::PATCH, ACCOUNT_CONFIG_PATH, answer.status, &read));
        }
        let written: Vec<Provider> = writes.iter().map(|(provider, _)| *provider).collect();
        self.read_config(&Method::PATCH, &answer.body, &written)
    }

    async fn fetch_provider(&self, provider: Provider) -> Result<Option<RemoteProvider>, ApiError> {
        let path = provider_path(provider);
        match self.send(Method::GET, &path, None, true).await {
            Ok(answer) => self.read_provider(&Method::GET, provider, &answer.body).map(Some),
            // The API's JSON 404, `{"detail": "..."}`: this provider is not configured.
            Err(ApiError::Status { status: 404, detail_body: true, .. }) => Ok(None),
            Err(e) => Err(no_such_endpoint(e)),
        }
    }

    async fn create_provider(
        &self,
        desired: &DesiredProvider,
        attempts: &mut Attempts,
    ) -> Result<RemoteProvider, ApiError> {
        let body = wire::provider_body(desired, None);
        let url = self.url(&provider_path(desired.provider));
        // Not idempotent: a second POST over a created provider is refused (400).
        let answer = self.send_to(Method::POST, url, Some(body), false, attempts).await.map_err(no_such_endpoint)?;
        if has_no_body(&answer) {
            return self.read_back(&Method::POST, answer.status, desired.provider).await.map(|(provider, _)| provider);
        }
        self.read_provider(&Method::POST, desired.provider, &answer.body)
    }

    fn attempts(&self) -> Attempts {
        Attempts::new(self.options.max_attempts, self.options.retry_budget)
    }

    async fn pause(&self, after: &ApiError, attempts: &Attempts) -> Option<crate::stop::Signal> {
        let asked = after.retry_after().map(|asked| asked.min(self.options.max_retry_after));
        let left =
            attempts.started.map_or(attempts.budget, |started| attempts.budget.saturating_sub(started.elapsed()));
        let wait = asked.unwrap_or_else(|| retry::backoff(attempts.made)).min(left);
        tracing::info!(
            "waiting {:.1}s{} before reading again whether it landed",
            wait.as_secs_f64(),
            if asked.is_some() { ", as the server's Retry-After asks," } else { "" }
        );
        tokio::select! {
            biased;
            signal = crate::stop::signalled() => Some(signal),
            () = tokio::time::sleep(wait) => None,
        }
    }

    async fn update_provider(&self, desired: &DesiredProvider, fields: &[String]) -> Result<PatchAnswer, ApiError> {
        let body = wire::provider_body(desired, Some(fields));
        // Idempotent: a field-level merge of the same fields leaves the same account.
        let answer = self
            .send(Method::PATCH, &provider_path(desired.provider), Some(body), true)
            .await
            .map_err(no_such_endpoint)?;
        if has_no_body(&answer) {
            let (provider, body) = self.read_back(&Method::PATCH, answer.status, desired.provider).await?;
            return Ok(PatchAnswer { provider, carried: wire::carried_fields(desired.provider, &body) });
        }
        let provider = self.read_provider(&Method::PATCH, desired.provider, &answer.body)?;
        Ok(PatchAnswer { provider, carried: wire::carried_fields(desired.provider, &answer.body) })
    }

    async fn delete_provider(&self, provider: Provider) -> Result<(), ApiError> {
        match self.send(Method::DELETE, &provider_path(provider), None, true).await {
            Ok(answer) => {
                tracing::debug!(status = answer.status.as_u16(), "{provider} deleted");
                Ok(())
            }
            // Already absent (a repeated DELETE whose first answer was lost, or someone else's): done.
            Err(ApiError::Status { status: 404, detail_body: true, .. }) => Ok(()),
            Err(e) => Err(no_such_endpoint(e)),
        }
    }

    async fn find_agents(&self, search: &str) -> Result<Vec<Agent>, ApiError> {
        let mut url = self.url(AGENTS_PATH);
        url.query_pairs_mut().append_pair("search", search).append_pair("pageSize", "100");
        let parse = |body: &[u8]| wire::parse_agents_page(body).map(|page| (page.agents, page.next));
        let bad_page = |url: String, reason: String| ApiError::BadAgentsPage { url, reason };
        match self.pages(url, AGENTS_PATH, MAX_AGENT_PAGES, bad_page, parse).await? {
            (agents, true) => Ok(agents),
            (agents, false) => {
                Err(ApiError::TooManyAgents { name: search.to_string(), pages: MAX_AGENT_PAGES, listed: agents.len() })
            }
        }
    }

    async fn fetch_sip(&self) -> Result<RemoteSip, ApiError> {
        let answer = self.send(Method::GET, SIP_PATH, None, true).await.map_err(no_such_endpoint)?;
        self.read_sip(&Method::GET, &answer.body)
    }

    async fn update_sip(
        &self,
        desired: &DesiredSip,
        fields: &[String],
        kept: &[RemoteSecret],
    ) -> Result<RemoteSip, ApiError> {
        let body = sip::sip_patch_body(desired, fields, kept);
        // Idempotent: a repeat sets the same fields to the same values.
        let answer = self.send(Method::PATCH, SIP_PATH, Some(body), true).await.map_err(no_such_endpoint)?;
        self.read_sip(&Method::PATCH, &answer.body)
    }

    async fn list_registrations(&self) -> Result<Vec<RemoteRegistration>, ApiError> {
        let mut url = self.url(REGISTRATIONS_PATH);
        url.query_pairs_mut().append_pair("pageSize", "100");
        let shown = shown_url(&url);
        let parse = |body: &[u8]| sip::parse_registrations_page(body).map(|page| (page.registrations, page.next));
        let bad_page = |url: String, reason: String| ApiError::BadAnswer { method: "GET".into(), url, reason };
        match self
            .pages(url, REGISTRATIONS_PATH, MAX_REGISTRATION_PAGES, bad_page, parse)
            .await
            .map_err(no_such_endpoint)?
        {
            (registrations, true) => Ok(registrations),
            (registrations, false) => Err(ApiError::BadAnswer {
                method: "GET".into(),
                url: shown,
                reason: format!(
                    "after {MAX_REGISTRATION_PAGES} pages ({} registrations) it still listed more; reconcile reads no \
                     further",
                    registrations.len()
                ),
            }),
        }
    }

    async fn create_registration(
        &self,
        desired: &DesiredRegistration,
        attempts: &mut Attempts,
    ) -> Result<RemoteRegistration, ApiError> {
        let body = sip::registration_body(desired, None);
        let url = self.url(REGISTRATIONS_PATH);
        // Not idempotent: a second POST would create a second registration, or be refused as a duplicate.
        let answer = self.send_to(Method::POST, url, Some(body), false, attempts).await.map_err(no_such_endpoint)?;
        self.read_registration(&Method::POST, REGISTRATIONS_PATH, &answer.body)
    }

    async fn update_registration(
        &self,
        id: &str,
        desired: &DesiredRegistration,
        fields: &[String],
    ) -> Result<RemoteRegistration, ApiError> {
        let path = registration_path(id)?;
        let body = sip::registration_body(desired, Some(fields));
        // Idempotent: a field-level merge of the same fields leaves the same registration.
        let answer = self.send(Method::PATCH, &path, Some(body), true).await.map_err(no_such_endpoint)?;
        self.read_registration(&Method::PATCH, &path, &answer.body)
    }

    async fn delete_registration(&self, id: &str) -> Result<(), ApiError> {
        let path = registration_path(id)?;
        match self.send(Method::DELETE, &path, None, true).await {
            Ok(_) => Ok(()),
            // The API's JSON 404 (`{"detail": "..."}`): already gone (a repeated DELETE whose first answer was lost,
            // or someone else's), so done. 410 is how some servers say it.
            Err(ApiError::Status { status: 404 | 410, detail_body: true, .. }) => Ok(()),
            Err(e) => Err(no_such_endpoint(e)),
        }
    }
}

/// The path of one registration. Its ID came from an answer and was checked there; checked again here, so that no
/// other ID (a mask read back from a document) can ever point a write at another path.
fn registration_path(id: &str) -> Result<String, ApiError> {
    if !crate::endpoints::is_registration_id(id) {
        return Err(ApiError::Client {
            reason: format!(
                "`{}` is not a registration ID reconcile writes to",
                crate::clean::printable(&redact::shown(id))
            ),
        });
    }
    Ok(format!("{REGISTRATIONS_PATH}/{id}"))
}

/// Pages of `GET /api/sip/registrations` followed before giving up (100 registrations a page).
const MAX_REGISTRATION_PAGES: usize = 50;
