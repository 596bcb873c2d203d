//! Request handling: recording, faults, authentication, routing, and the API endpoints themselves.
//!
//! Order per request, as the real stack does it: unknown path → 404 (URL routing, before authentication); then the
//! API key (401, or 403 for a forbidden account); then the method (405); then the body (415, 400) and the endpoint.
//! Faults come first of all, as if from the infrastructure in front of the API.

use std::collections::BTreeMap;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::model::{AccountState, Agent, Plivo, Provider, Telnyx, Twilio};
use crate::validate::{self, AGENT_IDS, ALLOW_ALL, CONTEXT_MAPPING};
use crate::{EndpointMode, Fault, PrefixRule, Prefixes, RecordedRequest, Shared, admin};

/// Bodies larger than this are refused with 413.
const MAX_BODY_BYTES: usize = 1 << 20;

const ACCOUNT_CONFIG: &str = "/api/accounts/me/telephony_config";
const AGENTS: &str = "/api/agents";
const PROVIDER_CONFIGS: &str = "/api/telephony_configs/";
const SIP: &str = "/api/sip";
const REGISTRATIONS: &str = "/api/sip/registrations";

/// An answer before it becomes an HTTP response.
pub(crate) struct Reply {
    status: StatusCode,
    body: Body,
    headers: Vec<(header::HeaderName, String)>,
}

enum Body {
    Empty,
    Json(Value),
    Text { content_type: &'static str, text: String },
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply { status: status_code(status), body: Body::Json(body), headers: Vec::new() }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply { status: status_code(status), body: Body::Empty, headers: Vec::new() }
    }

    pub(crate) fn text(status: u16, content_type: &'static str, text: impl Into<String>) -> Reply {
        Reply { status: status_code(status), body: Body::Text { content_type, text: text.into() }, headers: Vec::new() }
    }

    /// DRF's error shape: `{"detail": "..."}`.
    pub(crate) fn detail(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "detail": message.into() }))
    }

    pub(crate) fn not_found() -> Reply {
        Reply::detail(404, "Not found.")
    }

    /// Django's answer to a path no route matches: an HTML page, not the framework's JSON.
    pub(crate) fn no_route() -> Reply {
        Reply::text(
            404,
            "text/html; charset=utf-8",
            "<!doctype html>\n<title>Not Found</title>\n<h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n",
        )
    }

    pub(crate) fn method_not_allowed(method: &Method, allow: &str) -> Reply {
        Reply::detail(405, format!("Method \"{method}\" not allowed.")).with_header(header::ALLOW, allow)
    }

    pub(crate) fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let (content_type, bytes) = match self.body {
            Body::Empty => (None, Bytes::new()),
            Body::Json(value) => (Some("application/json"), Bytes::from(value.to_string())),
            Body::Text { content_type, text } => (Some(content_type), Bytes::from(text)),
        };
        let mut response = Response::new(Full::new(bytes));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(content_type) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in self.headers {
            // A value that is not a valid header (from a test's own fault) is left out rather than panicking.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// Statuses outside 100..=999 (only a test's own fault can ask for one) become 500.
fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Answers one request. `drop_connection` closes the connection without an answer when fired.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    drop_connection: Arc<Notify>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Reply::detail(413, "Request body too large.").into_response();
        }
        Err(_) => return Reply::detail(400, "The request body could not be read.").into_response(),
    };

    let path = parts.uri.path();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return admin::handle(&shared, &parts, &body).into_response();
    }

    let _in_flight = InFlight::enter(&shared);
    let (fault, latency) = {
        let mut inner = shared.lock();
        inner.requests.push(record(&parts, &body));
        let violations = crate::schemas::violations(parts.method.as_str(), path, &body);
        inner.schema_violations.extend(violations);
        let key = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
        (inner.take_fault(parts.method.as_str()), inner.latency_for(parts.method.as_str(), key))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => {}
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Drop) => {
            drop_connection.notify_one();
            // The connection task drops this future with the connection; nothing is ever sent.
            return std::future::pending().await;
        }
        Some(Fault::DropAfterApply) => {
            let _applied = respond(&shared, &parts, &body);
            drop_connection.notify_one();
            return std::future::pending().await;
        }
        Some(Fault::DropAfterApplyThenFailReads { status, reads }) => {
            let _applied = respond(&shared, &parts, &body);
            if reads > 0 {
                shared.lock().failing_reads = Some((status, reads));
            }
            drop_connection.notify_one();
            return std::future::pending().await;
        }
        Some(Fault::ApplyThenFailReads { status, reads }) => {
            let reply = respond(&shared, &parts, &body);
            if reads > 0 {
                shared.lock().failing_reads = Some((status, reads));
            }
            return reply.into_response();
        }
        Some(Fault::DropAfterApplyThenSet(state)) => {
            let _applied = respond(&shared, &parts, &body);
            if let Some(key) = parts.headers.get("x-api-key").and_then(|k| k.to_str().ok()) {
                shared.lock().accounts.insert(key.to_string(), *state);
            }
            drop_connection.notify_one();
            return std::future::pending().await;
        }
        Some(fault) => return fault_reply(fault, path).into_response(),
    }
    let (always_fail, failing_read) = {
        let mut inner = shared.lock();
        (inner.always_fail, inner.failing_read(parts.method.as_str()))
    };
    if let Some(code) = failing_read.or(always_fail) {
        return status_reply(code, None, None).into_response();
    }

    respond(&shared, &parts, &body).into_response()
}

/// Counts a request as being answered until dropped (also when the connection is dropped mid-answer).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> InFlight {
        let mut inner = shared.lock();
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        InFlight(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

fn record(parts: &Parts, body: &Bytes) -> RecordedRequest {
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
        json: serde_json::from_slice(body).ok(),
    }
}

fn fault_reply(fault: Fault, path: &str) -> Reply {
    match fault {
        Fault::Status { code, body, retry_after } => status_reply(code, body, retry_after),
        Fault::Malformed => Reply::text(200, "application/json", r#"{"twilio": "#),
        Fault::WrongShape if path == ACCOUNT_CONFIG => Reply::json(200, json!({ "twilio": 5 })),
        Fault::WrongShape => Reply::json(200, json!([])),
        Fault::Redirect { status, location } => Reply::empty(status).with_header(header::LOCATION, location),
        // Handled before any answer is made.
        Fault::Delay(_)
        | Fault::Drop
        | Fault::DropAfterApply
        | Fault::DropAfterApplyThenSet(_)
        | Fault::DropAfterApplyThenFailReads { .. }
        | Fault::ApplyThenFailReads { .. } => Reply::detail(500, "A server error occurred."),
    }
}

/// A status with the given body, or the body the real stack sends with it.
pub(crate) fn status_reply(code: u16, body: Option<String>, retry_after: Option<String>) -> Reply {
    let reply = match body {
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(value) => Reply::json(code, value),
            Err(_) => Reply::text(code, "text/plain; charset=utf-8", text),
        },
        None => match code {
            400 => Reply::detail(code, "Bad request."),
            401 => Reply::detail(code, "Invalid API key."),
            403 => Reply::detail(code, "You do not have permission to perform this action."),
            404 => Reply::not_found(),
            429 => Reply::detail(code, "Request was throttled. Expected available in 1 second."),
            500 => Reply::text(code, "text/html; charset=utf-8", "<!doctype html>\n<h1>Server Error (500)</h1>\n"),
            502 | 504 => {
                let reason = status_code(code).canonical_reason().unwrap_or("Error");
                Reply::text(
                    code,
                    "text/html; charset=utf-8",
                    format!(
                        "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1></body></html>\n"
                    ),
                )
            }
            503 => Reply::detail(code, "Service temporarily unavailable, try again later."),
            _ => Reply::detail(code, status_code(code).canonical_reason().unwrap_or("Error.")),
        },
    };
    match retry_after {
        Some(value) => reply.with_header(header::RETRY_AFTER, value),
        None => reply,
    }
}

/// The API routes.
enum Route {
    AccountConfig,
    Agents,
    Twilio,
    Telnyx,
    Plivo,
    Sip,
    Registrations,
    Registration(String),
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        match path {
            ACCOUNT_CONFIG => Some(Route::AccountConfig),
            AGENTS => Some(Route::Agents),
            SIP => Some(Route::Sip),
            REGISTRATIONS => Some(Route::Registrations),
            _ if path.starts_with(REGISTRATIONS) => {
                let id = path.strip_prefix(REGISTRATIONS)?.strip_prefix('/')?;
                (!id.is_empty() && !id.contains('/')).then(|| Route::Registration(id.to_string()))
            }
            _ => match path.strip_prefix(PROVIDER_CONFIGS)? {
                "twilio" => Some(Route::Twilio),
                "telnyx" => Some(Route::Telnyx),
                "plivo" => Some(Route::Plivo),
                _ => None,
            },
        }
    }
}

fn respond(shared: &Shared, parts: &Parts, body: &Bytes) -> Reply {
    let Some(route) = Route::parse(parts.uri.path()) else {
        return Reply::no_route();
    };
    let mut inner = shared.lock();
    let inner = &mut *inner;
    let mode = match route {
        Route::AccountConfig => inner.account_endpoint,
        Route::Twilio | Route::Telnyx | Route::Plivo => inner.provider_endpoints,
        Route::Agents => EndpointMode::Served,
        Route::Sip | Route::Registrations | Route::Registration(_) => inner.sip_endpoints,
    };
    match mode {
        EndpointMode::Served => {}
        EndpointMode::Gone(405) => return Reply::method_not_allowed(&parts.method, "OPTIONS"),
        EndpointMode::Gone(410) => return Reply::detail(410, "This endpoint has been removed."),
        EndpointMode::Gone(_) => return Reply::not_found(),
        EndpointMode::GoneHtml => return Reply::no_route(),
        EndpointMode::GoneForeignJson => return Reply::json(404, json!({ "error": "no such route" })),
    }
    let telephony_write = matches!(route, Route::AccountConfig | Route::Twilio | Route::Telnyx | Route::Plivo)
        && matches!(parts.method, Method::POST | Method::PATCH);
    if telephony_write && inner.empty_write_answers {
        let mut reply = route_request(shared, inner, route, parts, body);
        if reply.status.is_success() {
            reply.body = Body::Empty;
        }
        return reply;
    }
    if let (Route::AccountConfig, Some(headers)) = (&route, inner.deprecation.clone()) {
        let mut reply = account_config(inner, parts, body);
        if let Some(value) = headers.deprecation {
            reply = reply.with_header(header::HeaderName::from_static("deprecation"), value);
        }
        if let Some(value) = headers.sunset {
            reply = reply.with_header(header::HeaderName::from_static("sunset"), value);
        }
        return reply;
    }
    route_request(shared, inner, route, parts, body)
}

fn account_config(inner: &mut crate::Inner, parts: &Parts, body: &Bytes) -> Reply {
    let account = match authenticate(&mut inner.accounts, &parts.headers) {
        Ok(account) => account,
        Err(reply) => return reply,
    };
    let prefixes = &inner.prefixes;
    let omits = &inner.account_omits;
    let partial = inner.partial_patch_answers;
    let method = &parts.method;
    match *method {
        Method::GET | Method::HEAD => Reply::json(200, render_account(account, prefixes, omits)),
        Method::PATCH => {
            let body = match json_body(&parts.headers, body) {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            match validate::account_patch(&body, account) {
                Ok(next) => {
                    *account = next;
                    let mut answer = render_account(account, prefixes, omits);
                    if let (true, Value::Object(providers), Value::Object(sent)) = (partial, &mut answer, &body) {
                        providers.retain(|provider, _| sent.contains_key(provider));
                    }
                    Reply::json(200, answer)
                }
                Err(errors) => Reply::json(400, errors),
            }
        }
        _ => Reply::method_not_allowed(method, "GET, PATCH, HEAD, OPTIONS"),
    }
}

fn route_request(shared: &Shared, inner: &mut crate::Inner, route: Route, parts: &Parts, body: &Bytes) -> Reply {
    if let Route::AccountConfig = route {
        return account_config(inner, parts, body);
    }
    let account = match authenticate(&mut inner.accounts, &parts.headers) {
        Ok(account) => account,
        Err(reply) => return reply,
    };
    let prefixes = &inner.prefixes;
    let partial = inner.partial_patch_answers;
    let method = &parts.method;
    match route {
        Route::AccountConfig => unreachable!("answered above"),
        Route::Agents => match *method {
            Method::GET | Method::HEAD => {
                let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
                let base = match (&inner.page_links_origin, host) {
                    (Some(origin), _) => format!("{origin}{AGENTS}"),
                    (None, Some(host)) => format!("http://{host}{AGENTS}"),
                    (None, None) => format!("http://{}{AGENTS}", shared.addr),
                };
                agents_page(&account.agents, parts.uri.query(), inner.agents_page_size, &base)
            }
            _ => Reply::method_not_allowed(method, "GET, HEAD, OPTIONS"),
        },
        Route::Twilio => provider_endpoint::<Twilio>(account, prefixes, partial, parts, body),
        Route::Telnyx => provider_endpoint::<Telnyx>(account, prefixes, partial, parts, body),
        Route::Plivo => provider_endpoint::<Plivo>(account, prefixes, partial, parts, body),
        Route::Sip => crate::sip::config(account, &mut inner.sip, parts, body),
        Route::Registrations => {
            let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let base = match host {
                Some(host) => format!("http://{host}{REGISTRATIONS}"),
                None => format!("http://{}{REGISTRATIONS}", shared.addr),
            };
            crate::sip::registrations(account, &mut inner.sip, parts, body, &base)
        }
        Route::Registration(id) => crate::sip::registration(account, &mut inner.sip, &id, parts, body),
    }
}

/// The account of the request's `X-API-Key`, or the 401/403 the API gives.
fn authenticate<'a>(
    accounts: &'a mut BTreeMap<String, AccountState>,
    headers: &HeaderMap,
) -> Result<&'a mut AccountState, Reply> {
    let Some(key) = headers.get("x-api-key") else {
        return Err(Reply::detail(401, "Authentication credentials were not provided.")
            .with_header(header::WWW_AUTHENTICATE, "X-API-Key"));
    };
    let account = key.to_str().ok().and_then(|key| accounts.get_mut(key));
    match account {
        None => Err(Reply::detail(401, "Invalid API key.").with_header(header::WWW_AUTHENTICATE, "X-API-Key")),
        Some(account) if account.forbidden => {
            Err(Reply::detail(403, "You do not have permission to perform this action."))
        }
        Some(account) => Ok(account),
    }
}

/// The request body as JSON, as DRF's parsers see it: empty is `{}`, only `application/json` is understood.
pub(crate) fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Reply> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let media_type = content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(Reply::detail(
            415,
            format!("Unsupported media type \"{}\" in request.", content_type.unwrap_or_default()),
        ));
    }
    serde_json::from_slice(body).map_err(|error| Reply::detail(400, format!("JSON parse error - {error}")))
}

/// `{"twilio": ..., "telnyx": ..., "plivo": ...}`, each `null` or a block; the providers in `omits` left out.
fn render_account(account: &AccountState, prefixes: &Prefixes, omits: &[String]) -> Value {
    fn slot<P: Provider>(provider: &Option<P>, prefixes: &Prefixes) -> Value {
        provider.as_ref().map_or(Value::Null, |provider| render_block(provider, prefixes))
    }
    let mut answer = json!({
        "twilio": slot(&account.twilio, prefixes),
        "telnyx": slot(&account.telnyx, prefixes),
        "plivo": slot(&account.plivo, prefixes),
    });
    if let Value::Object(map) = &mut answer {
        map.retain(|provider, _| !omits.contains(provider));
    }
    answer
}

/// A provider block as the API shows it: every non-secret field, and `{name}Prefix` for each secret.
fn render_block<P: Provider>(provider: &P, prefixes: &Prefixes) -> Value {
    let access = provider.access();
    let mut block = Map::new();
    block.insert(AGENT_IDS.to_string(), json!(access.allowed_agent_ids));
    block.insert(ALLOW_ALL.to_string(), json!(access.allow_all_agents));
    block.insert(CONTEXT_MAPPING.to_string(), json!(access.request_context_mapping));
    for field in P::FIELDS {
        let value = (field.get)(provider);
        if !field.secret {
            block.insert(field.name.to_string(), json!(value));
            continue;
        }
        let key = format!("{}Prefix", field.name);
        match prefixes.rule(P::NAME, field.name) {
            PrefixRule::Length(len) => {
                let prefix: String = value.chars().take(len).collect();
                block.insert(key, json!({ "prefix": prefix }));
            }
            PrefixRule::Null => {
                block.insert(key, Value::Null);
            }
            PrefixRule::Omitted => {}
        }
    }
    Value::Object(block)
}

/// `/api/telephony_configs/{provider}`: GET, POST (create, 201), PATCH (field-level merge), DELETE (204). With
/// `partial`, a PATCH is answered with only the fields its body held (a secret as its `{name}Prefix`), as a server
/// that answers a merge with what changed would.
fn provider_endpoint<P: Provider>(
    account: &mut AccountState,
    prefixes: &Prefixes,
    partial: bool,
    parts: &Parts,
    body: &Bytes,
) -> Reply {
    let slot = P::slot(account);
    match parts.method {
        Method::GET | Method::HEAD => match slot {
            Some(provider) => Reply::json(200, render_block(provider, prefixes)),
            None => Reply::not_found(),
        },
        Method::POST => {
            let body = match json_body(&parts.headers, body) {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            let provider = match validate::provider_block::<P>(&body, None) {
                Ok(provider) => provider,
                Err(errors) => return Reply::json(400, errors),
            };
            if slot.is_some() {
                return Reply::json(
                    400,
                    validate::non_field_error(format!("A {} configuration already exists for this account.", P::TITLE)),
                );
            }
            Reply::json(201, render_block(slot.insert(provider), prefixes))
        }
        Method::PATCH => {
            let Some(existing) = slot.as_ref() else {
                return Reply::not_found();
            };
            let body = match json_body(&parts.headers, body) {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            match validate::provider_block::<P>(&body, Some(existing)) {
                Ok(provider) => {
                    let mut answer = render_block(slot.insert(provider), prefixes);
                    if let (true, Value::Object(block), Value::Object(sent)) = (partial, &mut answer, &body) {
                        block.retain(|key, _| {
                            sent.contains_key(key) || key.strip_suffix("Prefix").is_some_and(|f| sent.contains_key(f))
                        });
                    }
                    Reply::json(200, answer)
                }
                Err(errors) => Reply::json(400, errors),
            }
        }
        Method::DELETE => match slot.take() {
            Some(_) => Reply::empty(204),
            None => Reply::not_found(),
        },
        _ => Reply::method_not_allowed(&parts.method, "GET, POST, PATCH, DELETE, HEAD, OPTIONS"),
    }
}

/// `GET /api/agents`: cursor pagination in creation order, `search` on the name (case-insensitive substring).
fn agents_page(agents: &[Agent], query: Option<&str>, page_size: usize, base: &str) -> Reply {
    let params = query_params(query);
    let search = last_param(&params, "search").filter(|s| !s.is_empty()).map(str::to_lowercase);
    let matching: Vec<(usize, &Agent)> = agents
        .iter()
        .enumerate()
        .filter(|(_, agent)| search.as_deref().is_none_or(|s| agent.name.to_lowercase().contains(s)))
        .collect();
    cursor_page(&matching, &params, page_size, base, |&(index, agent)| {
        json!({
            "agentId": agent.agent_id,
            "publishedRevisionId": null,
            "name": agent.name,
            "created": created_at(index),
            "statistics": { "calls": 0 },
        })
    })
}

/// A query string's parameters, in order.
pub(crate) fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

/// A parameter's value: the last one when it is repeated, as Django's `QueryDict.get` gives.
fn last_param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// One page of `items` as DRF's cursor pagination answers it: `pageSize` clipped to the configured page size, an
/// unreadable cursor a 404, `next`/`previous` absolute URLs keeping the other parameters, and `total`.
pub(crate) fn cursor_page<T>(
    items: &[T],
    params: &[(String, String)],
    page_size: usize,
    base: &str,
    render: impl Fn(&T) -> Value,
) -> Reply {
    let size = match last_param(params, "pageSize").and_then(|size| size.parse::<usize>().ok()) {
        Some(requested) if requested > 0 => requested.min(page_size),
        _ => page_size,
    };
    let offset = match last_param(params, "cursor") {
        None | Some("") => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(offset) => offset,
            None => return Reply::detail(404, "Invalid cursor"),
        },
    };
    let results: Vec<Value> = items.iter().skip(offset).take(size).map(render).collect();
    let link = |to: usize| page_link(base, params, to);
    // A crafted cursor can hold any offset: no arithmetic on it may overflow.
    let end = offset.saturating_add(size);
    let next = (end < items.len()).then(|| link(end));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(size)));
    Reply::json(200, json!({ "next": next, "previous": previous, "results": results, "total": items.len() }))
}

/// The page at `offset`: every parameter of the request but `cursor`, plus the new cursor, sorted by name as
/// DRF's `replace_query_param` does.
fn page_link(base: &str, params: &[(String, String)], offset: usize) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    let mut pairs: Vec<(&str, String)> =
        params.iter().filter(|(key, _)| key != "cursor").map(|(key, value)| (key.as_str(), value.clone())).collect();
    pairs.push(("cursor", encode_cursor(offset)));
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    url.query_pairs_mut().extend_pairs(pairs);
    Some(url.into())
}

/// A creation time for the agent at `index`: one minute apart from 2026-01-01T00:00:00Z.
fn created_at(index: usize) -> String {
    let minutes = index % (28 * 24 * 60);
    let (day, hour, minute) = (1 + minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
    format!("2026-01-{day:02}T{hour:02}:{minute:02}:00.000000Z")
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An opaque cursor: URL-safe base64 (padded, so links carry `%3D`) of `o=OFFSET`, like DRF's.
fn encode_cursor(offset: usize) -> String {
    let bytes = format!("o={offset}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in cursor.trim_end_matches('=').bytes() {
        let value = BASE64.iter().position(|&b| b == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(bytes).ok()?.strip_prefix("o=")?.parse().ok()
}
