//! Tests of the Ultravox API emulator itself, over HTTP with reqwest against an in-process
//! instance: state, prefixes, DRF-style validation, auth, agents pagination, the request log, faults and the
//! provider-scoped endpoints, and the SIP endpoints (with the alternatives they can play where the reference is
//! silent).

// Test helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ultravox_emulator::{
    AccountState, Agent, DeprecationHeaders, DuplicateRegistration, Emulator, EmulatorConfig, EndpointMode, Fault,
    MissingRegistration, OmittedPattern, Plivo, PrefixRule, Seed, SipConfig, SipRegistration, Telnyx, Twilio,
    numbered_uuid,
};

const KEY: &str = "test-key";
const ACCOUNT_CONFIG: &str = "/api/accounts/me/telephony_config";
const AGENT_A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

fn start(account: AccountState) -> Emulator {
    Emulator::start(EmulatorConfig::default().with_account(KEY, account))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
}

/// Sends `method url` with the test key and an optional JSON body; returns the status and the JSON answer
/// (`Value::Null` when the body is empty or not JSON).
async fn call(emu: &Emulator, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call_as(emu, Some(KEY), method, path, body).await
}

async fn call_as(
    emu: &Emulator,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client().request(method, format!("{}{path}", emu.url()));
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn twilio_body() -> Value {
    json!({
        "accountSid": "AC0123456789abcdef0123456789abcdef",
        "authToken": "twilio-secret-token",
        "callCreationAllowedAgentIds": [AGENT_A],
        "requestContextMapping": {"From": "user.phone_number"},
    })
}

fn telnyx_body() -> Value {
    json!({
        "accountSid": "2ab5b1c6-telnyx",
        "apiKey": "KEYtelnyxapikey",
        "publicKey": "PUBtelnyxpublickey",
        "applicationSid": "1234567890123456789",
    })
}

#[tokio::test]
async fn get_on_an_empty_account_shows_three_nulls() {
    let emu = start(AccountState::empty());
    let (status, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"twilio": null, "telnyx": null, "plivo": null}));
}

#[tokio::test]
async fn patch_creates_and_get_shows_prefixes_never_secrets() {
    let emu = start(AccountState::empty());
    emu.set_prefix_length_for("telnyx.apiKey", 7);

    let (status, patched) =
        call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"twilio": twilio_body(), "telnyx": telnyx_body()})))
            .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (status, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched, body, "PATCH answers like GET");
    assert_eq!(
        body,
        json!({
            "twilio": {
                "accountSid": "AC0123456789abcdef0123456789abcdef",
                "authTokenPrefix": {"prefix": "twil"},
                "callCreationAllowedAgentIds": [AGENT_A],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {"From": "user.phone_number"},
            },
            "telnyx": {
                "accountSid": "2ab5b1c6-telnyx",
                "apiKeyPrefix": {"prefix": "KEYteln"},
                "publicKeyPrefix": {"prefix": "PUBt"},
                "applicationSid": "1234567890123456789",
                "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {},
            },
            "plivo": null,
        })
    );
    let text = body.to_string();
    for secret in ["twilio-secret-token", "KEYtelnyxapikey", "PUBtelnyxpublickey"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }

    let stored = emu.account(KEY).expect("account");
    assert_eq!(stored.twilio.expect("twilio").auth_token, "twilio-secret-token");
    assert_eq!(stored.telnyx.expect("telnyx").public_key, "PUBtelnyxpublickey");
}

#[tokio::test]
async fn prefix_lengths_are_clipped_and_can_be_empty_null_or_omitted() {
    let emu =
        start(AccountState::empty().with_twilio(Twilio::new("AC1", "abc")).with_plivo(Plivo::new("MA1", "p-token")));
    emu.set_prefix_length(10);
    let (_, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(body["twilio"]["authTokenPrefix"], json!({"prefix": "abc"}));

    emu.set_prefix_length_for("twilio.authToken", 0);
    emu.set_prefix_rule_for("plivo.authToken", PrefixRule::Omitted);
    let (_, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(body["twilio"]["authTokenPrefix"], json!({"prefix": ""}));
    assert!(body["plivo"].get("authTokenPrefix").is_none(), "{body}");

    emu.set_prefix_rule_for("plivo.authToken", PrefixRule::Null);
    let (_, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(body["plivo"]["authTokenPrefix"], Value::Null);
    assert!(body["plivo"].as_object().expect("block").contains_key("authTokenPrefix"));
}

#[tokio::test]
async fn validation_reports_every_error_at_once_and_changes_nothing() {
    let before = AccountState::empty().with_twilio(Twilio::new("AC-old", "old-token"));
    let emu = start(before.clone());
    let many_ids: Vec<String> = (0..101).map(numbered_uuid).collect();
    let body = json!({
        "twilio": {"accountSid": "AC-new", "callCreationAllowedAgentIds": [AGENT_A, "not-a-uuid", null]},
        "telnyx": {
            "accountSid": "",
            "apiKey": null,
            "publicKey": ["x"],
            "applicationSid": "a".repeat(41),
            "callCreationAllowAllAgents": "maybe",
            "requestContextMapping": {"From": "user.phone", "To": false},
        },
        "plivo": {"authId": "MA1", "authToken": "t", "callCreationAllowedAgentIds": many_ids},
    });
    let (status, errors) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors,
        json!({
            "twilio": {
                "authToken": ["This field is required."],
                "callCreationAllowedAgentIds": {"1": ["Must be a valid UUID."], "2": ["This field may not be null."]},
            },
            "telnyx": {
                "accountSid": ["This field may not be blank."],
                "apiKey": ["This field may not be null."],
                "publicKey": ["Not a valid string."],
                "applicationSid": ["Ensure this field has no more than 40 characters."],
                "callCreationAllowAllAgents": ["Must be a valid boolean."],
                "requestContextMapping": {"To": ["Not a valid string."]},
            },
            "plivo": {"callCreationAllowedAgentIds": ["Ensure this field has no more than 100 elements."]},
        })
    );
    assert_eq!(emu.account(KEY), Some(before));
}

#[tokio::test]
async fn validation_of_shapes_flags_and_bodies() {
    let emu = start(AccountState::empty());

    let conflict = json!({"plivo": {"authId": "MA1", "authToken": "t", "callCreationAllowAllAgents": true,
        "callCreationAllowedAgentIds": [AGENT_A]}});
    let (status, errors) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(conflict)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors,
        json!({"plivo": {"non_field_errors":
            ["callCreationAllowedAgentIds may not be set if callCreationAllowAllAgents is true."]}})
    );

    let (status, errors) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"twilio": 5, "plivo": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors,
        json!({
            "twilio": {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
            "plivo": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
        })
    );

    let (status, errors) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(errors, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));

    let response = client()
        .patch(format!("{}{ACCOUNT_CONFIG}", emu.url()))
        .header("X-API-Key", KEY)
        .header("Content-Type", "application/json")
        .body(r#"{"twilio": "#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(body["detail"].as_str().expect("detail").starts_with("JSON parse error - "), "{body}");

    let response = client()
        .patch(format!("{}{ACCOUNT_CONFIG}", emu.url()))
        .header("X-API-Key", KEY)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );

    // Lenient parsing as DRF does: trimmed strings, numbers as strings, "true" as a flag, UUIDs normalised.
    // Read-only prefixes and unknown keys are ignored.
    let lenient = json!({"twilio": {"accountSid": "  AC1 ", "authToken": 12345, "callCreationAllowAllAgents": "false",
        "callCreationAllowedAgentIds": ["{3C90C3CC-0D44-4B50-8888-8DD25736052A}"],
        "authTokenPrefix": {"prefix": "zzzz"}, "somethingElse": 1}});
    let (status, body) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(lenient)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["twilio"]["accountSid"], "AC1");
    assert_eq!(body["twilio"]["authTokenPrefix"], json!({"prefix": "1234"}));
    assert_eq!(body["twilio"]["callCreationAllowedAgentIds"], json!([AGENT_A]));
    assert!(body["twilio"].get("somethingElse").is_none());
}

#[tokio::test]
async fn null_deletes_and_an_absent_key_leaves_a_provider_alone() {
    let twilio = Twilio::new("AC1", "tok").allowed_agents([AGENT_A]).context("From", "user.phone");
    let telnyx = Telnyx::new("sid", "api", "pub", "app").allow_all(true);
    let emu = start(AccountState::empty().with_twilio(twilio.clone()).with_telnyx(telnyx));

    let (status, body) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"telnyx": null, "plivo": null}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["telnyx"], Value::Null);
    assert_eq!(body["plivo"], Value::Null);
    assert_eq!(body["twilio"]["requestContextMapping"], json!({"From": "user.phone"}));
    assert_eq!(emu.account(KEY), Some(AccountState::empty().with_twilio(twilio)));

    // An empty body changes nothing.
    let (status, after) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, body);
}

#[tokio::test]
async fn missing_or_unknown_keys_give_401_and_a_forbidden_account_403() {
    let emu = Emulator::start(
        EmulatorConfig::default()
            .with_account(KEY, AccountState::empty())
            .with_account("no-access", AccountState::empty().with_forbidden()),
    );
    for path in [ACCOUNT_CONFIG, "/api/agents", "/api/telephony_configs/twilio"] {
        let (status, body) = call_as(&emu, None, Method::GET, path, None).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Authentication credentials were not provided."}))
        );
        let (status, body) = call_as(&emu, Some("wrong"), Method::GET, path, None).await;
        assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid API key."})));
        let (status, body) = call_as(&emu, Some("no-access"), Method::PATCH, path, Some(json!({}))).await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, json!({"detail": "You do not have permission to perform this action."}))
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_an_html_404_and_wrong_methods_405() {
    let emu = start(AccountState::empty());
    // A path no route matches gets Django's HTML page (not JSON), as from the real server: a wrong --api-url must
    // not look like "not configured".
    let (status, body) = call_as(&emu, None, Method::GET, "/api/nothing", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::Null));
    let (status, body) = call(&emu, Method::GET, "/api/telephony_configs/vonage", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::Null));
    // A provider the account does not have is the framework's JSON 404.
    let (status, body) = call(&emu, Method::GET, "/api/telephony_configs/twilio", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not found."})));
    let (status, body) = call(&emu, Method::PUT, ACCOUNT_CONFIG, Some(json!({}))).await;
    assert_eq!((status, body), (StatusCode::METHOD_NOT_ALLOWED, json!({"detail": "Method \"PUT\" not allowed."})));
    let (status, _) = call(&emu, Method::POST, "/api/agents", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn agents_paginate_with_cursor_links_and_search() {
    let names = ["Support EN", "Sales", "support FR", "Billing", "SUPPORT DE", "Support ES", "Ops", "Support IT"];
    let agents: Vec<Agent> = names.iter().zip(1..).map(|(name, n)| Agent::numbered(n, *name)).collect();
    let emu = start(AccountState::empty().with_agents(agents));
    let http = client();

    let mut url = format!("{}/api/agents?search=support&pageSize=2", emu.url());
    let mut pages = Vec::new();
    loop {
        let page: Value =
            http.get(&url).header("X-API-Key", KEY).send().await.expect("send").json().await.expect("json");
        assert_eq!(page["total"], 5, "{page}");
        let next = page["next"].as_str().map(str::to_string);
        pages.push(page);
        match next {
            Some(next) => url = next,
            None => break,
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(pages.len(), 3);
    let listed: Vec<&str> = pages
        .iter()
        .flat_map(|p| p["results"].as_array().expect("results"))
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(listed, ["Support EN", "support FR", "SUPPORT DE", "Support ES", "Support IT"]);
    assert_eq!(pages[0]["previous"], Value::Null);
    assert!(pages[1]["previous"].is_string());
    assert_eq!(pages[2]["next"], Value::Null);
    let next = pages[0]["next"].as_str().expect("next");
    assert!(next.starts_with(&format!("{}/api/agents?cursor=", emu.url())), "{next}");
    assert!(next.contains("pageSize=2") && next.contains("search=support"), "{next}");

    let first = &pages[0]["results"][0];
    assert_eq!(first["agentId"], numbered_uuid(1));
    assert_eq!(first["publishedRevisionId"], Value::Null);
    assert_eq!(first["statistics"], json!({"calls": 0}));
    assert!(first["created"].as_str().expect("created").starts_with("2026-"));

    // The configured page size is the default and the largest; a bad cursor is a 404.
    emu.set_agents_page_size(3);
    let (_, page) = call(&emu, Method::GET, "/api/agents?pageSize=100", None).await;
    assert_eq!((page["results"].as_array().map(Vec::len), page["total"].clone()), (Some(3), json!(8)));
    let (status, body) = call(&emu, Method::GET, "/api/agents?cursor=garbage", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Invalid cursor"})));
    // A cursor past the end (here `o=usize::MAX`) gives an empty page, not a crash.
    let (status, page) = call(&emu, Method::GET, "/api/agents?cursor=bz0xODQ0Njc0NDA3MzcwOTU1MTYxNQ%3D%3D", None).await;
    assert_eq!((status, &page["results"], &page["next"]), (StatusCode::OK, &json!([]), &Value::Null));
    let (_, page) = call(&emu, Method::GET, "/api/agents?cursor=&pageSize=&search=", None).await;
    assert_eq!(page["results"][0]["name"], "Support EN");
}

#[tokio::test]
async fn page_links_can_name_another_origin_as_behind_a_proxy() {
    let agents: Vec<Agent> = (1..=3).map(|n| Agent::numbered(n, format!("Support {n}"))).collect();
    let emu = start(AccountState::empty().with_agents(agents));
    emu.set_page_links_origin(Some("http://internal-api:8000/"));
    let (_, page) = call(&emu, Method::GET, "/api/agents?pageSize=1", None).await;
    let next = page["next"].as_str().expect("next");
    assert!(next.starts_with("http://internal-api:8000/api/agents?cursor="), "{next}");
    assert!(next.contains("pageSize=1"), "{next}");
    // The link's query is the page's own: sent to the emulator's origin it gives the second page.
    let query = next.split_once('?').expect("query").1;
    let (_, second) = call(&emu, Method::GET, &format!("/api/agents?{query}"), None).await;
    assert_eq!(second["results"][0]["name"], "Support 2");
    assert!(second["previous"].as_str().expect("previous").starts_with("http://internal-api:8000/api/agents"));

    emu.set_page_links_origin(None);
    let (_, page) = call(&emu, Method::GET, "/api/agents?pageSize=1", None).await;
    let next = page["next"].as_str().expect("next");
    assert!(next.starts_with(&format!("{}/api/agents?cursor=", emu.url())), "{next}");
}

#[tokio::test]
async fn the_request_log_records_every_api_request_in_order() {
    let emu = start(AccountState::empty());
    call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"telnyx": telnyx_body()}))).await;
    call(&emu, Method::GET, "/api/agents?pageSize=5", None).await;
    emu.push_fault(Fault::status(503));
    call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    // The admin surface is not recorded.
    client().get(format!("{}/_emulator/requests", emu.url())).send().await.expect("admin");

    let requests = emu.requests();
    let summary: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        summary,
        [("GET", ACCOUNT_CONFIG), ("PATCH", ACCOUNT_CONFIG), ("GET", "/api/agents"), ("GET", ACCOUNT_CONFIG)]
    );
    let patch = &requests[1];
    assert_eq!(patch.json_keys(), ["telnyx"]);
    assert_eq!(patch.json, Some(json!({"telnyx": telnyx_body()})));
    assert_eq!(serde_json::from_str::<Value>(&patch.body).expect("raw body"), json!({"telnyx": telnyx_body()}));
    assert_eq!(patch.header("X-API-Key"), Some(KEY));
    assert_eq!(patch.header("content-type"), Some("application/json"));
    assert_eq!(requests[0].body, "");
    assert_eq!(requests[0].json, None);
    assert_eq!(requests[2].query.as_deref(), Some("pageSize=5"));
    assert_eq!(requests[2].query_pairs(), [("pageSize".to_string(), "5".to_string())]);

    emu.clear_requests();
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn status_faults_carry_their_body_and_retry_after() {
    let emu = start(AccountState::empty());
    emu.push_fault(Fault::status_retry_after(503, "1"));
    emu.push_fault(Fault::Status { code: 429, body: None, retry_after: Some("2".into()) });
    emu.push_fault(Fault::status_with_body(400, r#"{"detail": "Your <b>input</b> was wrong"}"#));
    emu.push_fault(Fault::status(502));
    let url = format!("{}{ACCOUNT_CONFIG}", emu.url());
    let http = client();

    let response = http.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let response = http.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let response = http.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({"detail": "Your <b>input</b> was wrong"}));
    let response = http.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/html"));

    // The queue is empty: normal service again.
    let response = http.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_connection_is_a_client_error_and_the_server_carries_on() {
    let emu = start(AccountState::empty());
    let url = format!("{}{ACCOUNT_CONFIG}", emu.url());
    let http = client();
    let get = || http.get(&url).header("X-API-Key", KEY).send();

    // On a fresh connection, then on a kept-alive one (as a GET then a PATCH would be): the client cannot tell the
    // request was not handled, so it does not resend it by itself.
    for warm_up in [false, true] {
        if warm_up {
            assert_eq!(get().await.expect("send").status(), StatusCode::OK);
        }
        emu.clear_requests();
        emu.push_fault(Fault::Drop);
        let error = get().await.expect_err("the connection is dropped");
        assert!(!error.is_timeout() && !error.is_status(), "{error:?}");
        assert_eq!(emu.requests().len(), 1, "a dropped request is recorded, and sent once");
    }

    assert_eq!(get().await.expect("send").status(), StatusCode::OK);
}

#[tokio::test]
async fn a_delay_is_observed_and_then_the_request_is_served() {
    let emu = start(AccountState::empty());
    emu.push_fault(Fault::Delay(Duration::from_millis(400)));
    let started = Instant::now();
    let (status, _) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));

    emu.push_fault(Fault::Delay(Duration::from_secs(5)));
    let http = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().expect("client");
    let error = http
        .get(format!("{}{ACCOUNT_CONFIG}", emu.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn malformed_and_wrongly_shaped_answers() {
    let emu = start(AccountState::empty());
    let http = client();
    let get = |path: &str| http.get(format!("{}{path}", emu.url())).header("X-API-Key", KEY).send();

    emu.push_fault(Fault::Malformed);
    let response = get(ACCOUNT_CONFIG).await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("text"), r#"{"twilio": "#);

    emu.push_fault(Fault::WrongShape);
    emu.push_fault(Fault::WrongShape);
    assert_eq!(get(ACCOUNT_CONFIG).await.expect("send").json::<Value>().await.expect("json"), json!({"twilio": 5}));
    assert_eq!(get("/api/agents").await.expect("send").json::<Value>().await.expect("json"), json!([]));
}

#[tokio::test]
async fn a_redirect_to_another_origin_carries_the_api_key_along() {
    let emu = start(AccountState::empty());
    let elsewhere = Emulator::start(EmulatorConfig::default());
    let location = format!("{}{ACCOUNT_CONFIG}", elsewhere.url());
    emu.push_fault(Fault::Redirect { status: 307, location: location.clone() });
    emu.push_fault(Fault::Redirect { status: 307, location: location.clone() });
    let url = format!("{}{ACCOUNT_CONFIG}", emu.url());

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = no_redirects.get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(response.headers()["location"], location.as_str());

    // reqwest's default policy follows it, and sends the custom key header to the other origin: why a client of the
    // real API must not follow redirects.
    let response = client().get(&url).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let leaked = elsewhere.requests();
    assert_eq!(leaked.len(), 1);
    assert_eq!(leaked[0].header("x-api-key"), Some(KEY));
}

#[tokio::test]
async fn method_filtered_faults_wait_for_their_method_and_always_fail_persists() {
    let emu = start(AccountState::empty());
    emu.push_fault_for("patch", Fault::status(503));
    let (status, _) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.pending_faults(), 1);
    let (status, body) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"plivo": null}))).await;
    assert_eq!(
        (status, body),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"detail": "Service temporarily unavailable, try again later."}))
    );
    assert_eq!(emu.pending_faults(), 0);

    emu.set_always_fail(Some(500));
    for _ in 0..3 {
        let (status, _) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    emu.set_always_fail(None);
    let (status, _) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn provider_scoped_endpoints_create_merge_and_delete() {
    let emu = start(AccountState::empty());
    let path = "/api/telephony_configs/twilio";

    let (status, body) = call(&emu, Method::GET, path, None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not found."})));
    let (status, body) = call(&emu, Method::PATCH, path, Some(json!({"accountSid": "AC2"}))).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not found."})));

    let (status, errors) = call(&emu, Method::POST, path, Some(json!({"accountSid": "AC1"}))).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!({"authToken": ["This field is required."]})));
    let (status, created) = call(&emu, Method::POST, path, Some(twilio_body())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["authTokenPrefix"], json!({"prefix": "twil"}));
    let (status, _) = call(&emu, Method::POST, path, Some(twilio_body())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "already exists");

    // A field-level merge: the secret and the mapping need not be sent and stay.
    let (status, merged) =
        call(&emu, Method::PATCH, path, Some(json!({"accountSid": "AC2", "callCreationAllowedAgentIds": []}))).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["accountSid"], "AC2");
    assert_eq!(merged["callCreationAllowedAgentIds"], json!([]));
    assert_eq!(merged["requestContextMapping"], json!({"From": "user.phone_number"}));
    let stored = emu.account(KEY).and_then(|a| a.twilio).expect("twilio");
    assert_eq!((stored.account_sid.as_str(), stored.auth_token.as_str()), ("AC2", "twilio-secret-token"));
    let (status, account) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!((status, &account["twilio"]), (StatusCode::OK, &merged));

    // The allow-all check applies to the merged block; a failed PATCH changes nothing.
    let (status, errors) =
        call(&emu, Method::PATCH, path, Some(json!({"callCreationAllowAllAgents": true, "authToken": ""}))).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!({"authToken": ["This field may not be blank."]})));
    let (status, _) = call(&emu, Method::PATCH, path, Some(json!({"callCreationAllowedAgentIds": [AGENT_A]}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, errors) = call(&emu, Method::PATCH, path, Some(json!({"callCreationAllowAllAgents": true}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(errors["non_field_errors"].is_array(), "{errors}");
    assert_eq!(emu.account(KEY).and_then(|a| a.twilio).map(|t| t.allow_all_agents), Some(false));

    let response = client().delete(format!("{}{path}", emu.url())).header("X-API-Key", KEY).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.text().await.expect("body"), "");
    let (status, _) = call(&emu, Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(emu.account(KEY), Some(AccountState::empty()));

    let (status, created) = call(&emu, Method::POST, "/api/telephony_configs/telnyx", Some(telnyx_body())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["publicKeyPrefix"], json!({"prefix": "PUBt"}));
    let (status, _) = call(&emu, Method::PUT, "/api/telephony_configs/plivo", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_patch_can_be_answered_with_only_the_fields_it_sent() {
    let emu = start(AccountState::empty());
    let path = "/api/telephony_configs/twilio";
    call(&emu, Method::POST, path, Some(twilio_body())).await;
    emu.set_partial_patch_answers(true);
    let (status, answer) = call(&emu, Method::PATCH, path, Some(json!({"callCreationAllowedAgentIds": []}))).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"callCreationAllowedAgentIds": []})));
    let (_, answer) =
        call(&emu, Method::PATCH, path, Some(json!({"authToken": "rotated-token", "accountSid": "AC2"}))).await;
    assert_eq!(answer, json!({"accountSid": "AC2", "authTokenPrefix": {"prefix": "rota"}}));
    // The merge itself is whole, and so are every other answer.
    let (_, full) = call(&emu, Method::GET, path, None).await;
    assert_eq!(full["requestContextMapping"], json!({"From": "user.phone_number"}));
    assert_eq!(full["accountSid"], "AC2");
    // The account-level PATCH is answered with only the providers it held.
    let (status, answer) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"plivo": null}))).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"plivo": null})));
    let (_, answer) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(answer["twilio"]["accountSid"], "AC2");
    emu.set_partial_patch_answers(false);
    let (_, answer) = call(&emu, Method::PATCH, path, Some(json!({"accountSid": "AC3"}))).await;
    assert_eq!(answer["requestContextMapping"], json!({"From": "user.phone_number"}));
    let (_, answer) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"plivo": null}))).await;
    assert_eq!(answer["twilio"]["accountSid"], "AC3");
}

#[tokio::test]
async fn the_account_pair_can_be_removed_and_deprecated_and_the_provider_endpoints_removed() {
    let emu = start(AccountState::empty());
    for (mode, code) in [(EndpointMode::Gone(404), 404), (EndpointMode::Gone(405), 405), (EndpointMode::Gone(410), 410)]
    {
        emu.set_account_endpoint(mode);
        let (status, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
        assert_eq!(status.as_u16(), code);
        assert!(body["detail"].is_string(), "the API's JSON: {body}");
        // Answered before authentication, as URL routing does.
        let (status, _) = call_as(&emu, None, Method::PATCH, ACCOUNT_CONFIG, Some(json!({}))).await;
        assert_eq!(status.as_u16(), code);
    }
    emu.set_account_endpoint(EndpointMode::GoneHtml);
    let response =
        client().get(format!("{}{ACCOUNT_CONFIG}", emu.url())).header("X-API-Key", KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let (status, _) = call(&emu, Method::GET, "/api/telephony_configs/twilio", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the provider endpoints still answer");

    emu.set_account_endpoint(EndpointMode::Served);
    emu.set_provider_endpoints(EndpointMode::GoneHtml);
    let response = client()
        .get(format!("{}/api/telephony_configs/twilio", emu.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("<h1>Not Found</h1>"));

    emu.set_deprecation(Some(DeprecationHeaders {
        deprecation: Some("@1772323200".into()),
        sunset: Some("Tue, 01 Dec 2026 00:00:00 GMT".into()),
    }));
    let response =
        client().get(format!("{}{ACCOUNT_CONFIG}", emu.url())).header("X-API-Key", KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["deprecation"], "@1772323200");
    assert_eq!(response.headers()["sunset"], "Tue, 01 Dec 2026 00:00:00 GMT");
}

#[tokio::test]
async fn write_bodies_are_checked_against_the_official_schemas() {
    let emu = start(AccountState::empty());
    call(&emu, Method::POST, "/api/telephony_configs/twilio", Some(twilio_body())).await;
    call(&emu, Method::PATCH, "/api/telephony_configs/twilio", Some(json!({"accountSid": "AC2"}))).await;
    call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"plivo": null}))).await;
    assert_eq!(emu.schema_violations(), Vec::<String>::new());

    // A number for a string, an agent ID that is not a UUID, a read-only prefix sent, a required field left out.
    call(&emu, Method::PATCH, "/api/telephony_configs/twilio", Some(json!({"accountSid": 5}))).await;
    call(&emu, Method::PATCH, "/api/telephony_configs/twilio", Some(json!({"callCreationAllowedAgentIds": ["x"]})))
        .await;
    call(&emu, Method::PATCH, "/api/telephony_configs/plivo", Some(json!({"authTokenPrefix": {"prefix": "ab"}}))).await;
    call(&emu, Method::POST, "/api/telephony_configs/plivo", Some(json!({"authId": "MA1"}))).await;
    call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"twilio": {"accountSid": "AC1"}}))).await;
    let violations = emu.schema_violations();
    assert_eq!(violations.len(), 5, "{violations:#?}");
    assert!(violations[0].starts_with("PATCH /api/telephony_configs/twilio: PatchedTwilioConfig:"), "{violations:?}");
    assert!(violations[3].contains("PlivoConfig") && violations[3].contains("authToken"), "{violations:?}");
}

#[tokio::test]
async fn the_admin_surface_queues_faults_and_reads_and_seeds_state() {
    let emu = start(AccountState::empty().with_twilio(Twilio::new("AC1", "secret")));
    let http = client();
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.url());

    let state: Seed = http.get(admin("state")).send().await.expect("send").json().await.expect("json");
    assert_eq!(state.accounts[KEY].twilio.as_ref().map(|t| t.auth_token.as_str()), Some("secret"));

    let seed = json!({"accounts": {"other": {"plivo": {"authId": "MA1", "authToken": "p"},
        "agents": [{"agentId": AGENT_A, "name": "A"}]}}});
    let response = http.put(admin("state")).json(&seed).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(emu.account(KEY), None);
    assert_eq!(
        emu.account("other"),
        Some(AccountState::empty().with_plivo(Plivo::new("MA1", "p")).with_agent(AGENT_A, "A"))
    );

    let faults = json!([{"kind": "status", "code": 503, "retryAfter": "3", "method": "GET"}, {"kind": "drop"}]);
    let response = http.post(admin("faults")).json(&faults).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(emu.pending_faults(), 2);
    let response = http.post(admin("faults")).json(&json!([{"kind": "explode"}])).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response =
        http.get(format!("{}{ACCOUNT_CONFIG}", emu.url())).header("X-API-Key", "other").send().await.expect("send");
    assert_eq!(
        (response.status(), response.headers()["retry-after"].to_str().expect("header")),
        (StatusCode::SERVICE_UNAVAILABLE, "3")
    );

    let log: Value = http.get(admin("requests")).send().await.expect("send").json().await.expect("json");
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    assert_eq!(log[0]["headers"]["x-api-key"], "other");
}

#[test]
fn seeds_round_trip_through_json_with_secrets() {
    let account = AccountState::empty()
        .with_twilio(Twilio::new("AC1", "tok").allowed_agents([AGENT_A]))
        .with_telnyx(Telnyx::new("sid", "api", "pub", "app").allow_all(true).context("a.b", "c.d"))
        .with_agents([Agent::numbered(1, "One")]);
    let seed = Seed { accounts: BTreeMap::from([(KEY.to_string(), account)]) };
    let text = serde_json::to_string(&seed).expect("serialize");
    assert!(text.contains(r#""authToken":"tok""#) && text.contains(r#""callCreationAllowAllAgents":true"#), "{text}");
    assert_eq!(Seed::from_json(&text).expect("parse"), seed);
    assert!(
        Seed::from_json(r#"{"accounts": {"k": {"twilio": {"accountSid": "x"}}}}"#).is_err(),
        "authToken is required"
    );
}

/// The emulator serves plain (non-async) tests too, such as those that run the binary; dropping it stops it.
#[test]
fn works_from_a_sync_test_and_stops_when_dropped() {
    let emu = start(AccountState::empty());
    let addr = emu.addr();
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {ACCOUNT_CONFIG} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {KEY}\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"plivo":null,"telnyx":null,"twilio":null}"#), "{answer}");

    drop(emu);
    assert!(std::net::TcpStream::connect(addr).is_err(), "still listening after drop");
}

#[tokio::test]
async fn latency_delays_answers_concurrently_per_account_and_through_the_admin_surface() {
    let emu = Emulator::start(EmulatorConfig {
        accounts: vec![(KEY.into(), AccountState::empty()), ("other-key".into(), AccountState::empty())],
        latency: Duration::from_millis(300),
        ..EmulatorConfig::default()
    });
    // Ten answers of 300 ms each, asked at once, are answered together: the waits overlap.
    let calls = (0..10).map(|_| call(&emu, Method::GET, ACCOUNT_CONFIG, None));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(emu.max_in_flight(), 10);
    assert_eq!(emu.in_flight(), 0);

    // One account slower than the rest: while it waits, the other account's requests are answered.
    let admin = client();
    let put = |body: Value| admin.put(format!("{}/_emulator/latency", emu.url())).json(&body).send();
    assert_eq!(put(json!({"ms": 0})).await.expect("admin").status(), StatusCode::NO_CONTENT);
    assert_eq!(put(json!({"ms": 1500, "apiKey": KEY})).await.expect("admin").status(), StatusCode::NO_CONTENT);
    assert_eq!(put(json!({"seconds": 1})).await.expect("admin").status(), StatusCode::BAD_REQUEST);
    let slow = tokio::spawn({
        let url = format!("{}{ACCOUNT_CONFIG}", emu.url());
        async move { client().get(url).header("X-API-Key", KEY).send().await.map(|r| r.status()) }
    });
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while emu.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    started.await.expect("gave up after 60s waiting for the slow request to reach the emulator");
    let (status, _) = call_as(&emu, Some("other-key"), Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.in_flight(), 1, "the slow account's answer is still pending");
    assert_eq!(slow.await.expect("task").expect("request"), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------------------------
// SIP

#[tokio::test]
async fn the_sip_config_is_a_singleton_patched_field_by_field_with_a_generated_fallback_secret() {
    let emu = start(AccountState::empty());
    let (status, sip) = call(&emu, Method::GET, "/api/sip", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sip,
        json!({"allowedCidrRanges": [], "allowAllAgents": false, "allowedAgents": [], "fallbackHandler": null,
            "domain": "demo.sip.ultravox.ai"})
    );
    let patch = json!({"allowedCidrRanges": ["10.0.0.0/8"], "allowedAgents": [{"agentId": AGENT_A.to_uppercase()}],
        "fallbackHandler": {"url": "https://h.example.com/x"}, "domain": "ignored.example.com"});
    let (status, sip) = call(&emu, Method::PATCH, "/api/sip", Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{sip}");
    assert_eq!(sip["allowedAgents"], json!([{"agentId": AGENT_A, "toUserPattern": format!("^agent_{AGENT_A}$")}]));
    assert_eq!(sip["domain"], "demo.sip.ultravox.ai", "read-only");
    let secrets = sip["fallbackHandler"]["secrets"].as_array().unwrap().clone();
    assert_eq!(secrets.len(), 1, "a secret is generated when none is given");
    assert!(secrets[0].as_str().unwrap().len() >= 32);
    // A field left out is left alone; the handler given whole replaces the old one.
    let (_, sip) = call(&emu, Method::PATCH, "/api/sip", Some(json!({"allowAllAgents": true}))).await;
    assert_eq!((sip["allowAllAgents"].as_bool(), &sip["fallbackHandler"]["secrets"]), (Some(true), &json!(secrets)));
    let (_, sip) = call(
        &emu,
        Method::PATCH,
        "/api/sip",
        Some(json!({"fallbackHandler": {"url": "https://h.example.com/y", "secrets": ["s1", "s2"]}})),
    )
    .await;
    assert_eq!(sip["fallbackHandler"], json!({"url": "https://h.example.com/y", "secrets": ["s1", "s2"]}));
    let (_, sip) = call(&emu, Method::PATCH, "/api/sip", Some(json!({"fallbackHandler": null}))).await;
    assert_eq!(sip["fallbackHandler"], Value::Null);
    // Only the read-only domain broke the official schema (it is answered, and recorded as a violation).
    let violations = emu.schema_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("at /domain"), "{violations:?}");
}

#[tokio::test]
async fn sip_validation_reports_every_error_at_once_and_changes_nothing() {
    let emu = start(AccountState::empty());
    let bad = json!({
        "allowedCidrRanges": ["10.0.0.1/8", "x", 5],
        "allowAllAgents": "maybe",
        "allowedAgents": [{"toUserPattern": "^a$"}, {"agentId": "nope"}],
        "fallbackHandler": {"url": "not a url", "secrets": []},
    });
    let (status, errors) = call(&emu, Method::PATCH, "/api/sip", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors,
        json!({
            "allowedCidrRanges": {"0": ["'10.0.0.1/8' has host bits set."],
                "1": ["'x' does not appear to be an IPv4 network."], "2": ["Not a valid string."]},
            "allowAllAgents": ["Must be a valid boolean."],
            "allowedAgents": {"0": {"agentId": ["This field is required."]}, "1": {"agentId": ["Must be a valid UUID."]}},
            "fallbackHandler": {"url": ["Enter a valid URL."], "secrets": ["Ensure this field has at least 1 elements."]},
        })
    );
    let too_many: Vec<Value> = (0..21).map(|i| json!({"agentId": numbered_uuid(i)})).collect();
    let (status, errors) = call(&emu, Method::PATCH, "/api/sip", Some(json!({"allowedAgents": too_many}))).await;
    assert_eq!(
        (status, errors),
        (StatusCode::BAD_REQUEST, json!({"allowedAgents": ["Ensure this field has no more than 20 elements."]}))
    );
    assert_eq!(emu.account(KEY).unwrap().sip, SipConfig::default(), "nothing changed");
    let violations = emu.schema_violations();
    for at in ["at /allowAllAgents", "at /allowedAgents/1/agentId", "at /fallbackHandler", "more than 20 items"] {
        assert!(violations.iter().any(|v| v.contains(at)), "{at}: {violations:?}");
    }
}

#[tokio::test]
async fn registrations_are_created_listed_through_pages_patched_and_deleted_never_showing_a_password() {
    let emu = start(AccountState::empty());
    emu.set_registrations_page_size(2);
    let mut ids = Vec::new();
    for user in ["alice", "bob", "carol"] {
        let body = json!({"username": user, "password": format!("{user}-pw"), "proxy": "t.example.com",
            "outboundProxy": null, "authUser": null});
        let (status, created) = call(&emu, Method::POST, "/api/sip/registrations", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(created.get("password").is_none(), "write-only: {created}");
        assert_eq!(created["successful"], true);
        ids.push(created["registrationId"].as_str().unwrap().to_string());
    }
    let (_, page) = call(&emu, Method::GET, "/api/sip/registrations", None).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap().to_string();
    assert!(next.starts_with(&emu.url()) && next.contains("cursor="), "a full URL: {next}");
    let page: Value = client().get(&next).header("X-API-Key", KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["results"][0]["username"], "carol");
    assert_eq!(page["next"], Value::Null);

    let path = format!("/api/sip/registrations/{}", ids[1]);
    let (status, patched) = call(&emu, Method::PATCH, &path, Some(json!({"outboundProxy": "edge.example.com"}))).await;
    assert_eq!((status, patched["outboundProxy"].as_str()), (StatusCode::OK, Some("edge.example.com")));
    assert_eq!(emu.account(KEY).unwrap().sip_registrations[1].password, "bob-pw", "a merge keeps the password");
    let (status, _) = call(&emu, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(emu.account(KEY).unwrap().sip_registrations.len(), 2);
    assert_eq!(emu.schema_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn inferred_answers_and_their_alternatives() {
    let emu =
        start(AccountState::empty().with_registration(SipRegistration::new("r1", "alice", "t.example.com", "pw")));
    let duplicate = json!({"username": "alice", "password": "pw2", "proxy": "t.example.com"});
    // A duplicate of username and proxy: 400 by default, 409, or accepted.
    let (status, body) = call(&emu, Method::POST, "/api/sip/registrations", Some(duplicate.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"non_field_errors": ["A registration with this username and proxy already exists."]}));
    emu.set_duplicate_registration(DuplicateRegistration::Conflict);
    let (status, body) = call(&emu, Method::POST, "/api/sip/registrations", Some(duplicate.clone())).await;
    assert_eq!((status, body["detail"].is_string()), (StatusCode::CONFLICT, true));
    emu.set_duplicate_registration(DuplicateRegistration::Accept);
    emu.set_new_registration_status(Some(false));
    let (status, body) = call(&emu, Method::POST, "/api/sip/registrations", Some(duplicate)).await;
    assert_eq!((status, &body["successful"]), (StatusCode::CREATED, &json!(false)), "reported inactive");
    assert_eq!(emu.account(KEY).unwrap().sip_registrations.len(), 2);

    // An unknown ID: the API's JSON 404 by default, 410, or an HTML page.
    let (status, body) = call(&emu, Method::DELETE, "/api/sip/registrations/nope", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not found."})));
    emu.set_missing_registration(MissingRegistration::Gone);
    assert_eq!(call(&emu, Method::PATCH, "/api/sip/registrations/nope", Some(json!({}))).await.0, StatusCode::GONE);
    emu.set_missing_registration(MissingRegistration::Html);
    let (status, body) = call(&emu, Method::GET, "/api/sip/registrations/nope", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::Null), "not JSON");

    // An omitted pattern shown filled in (default), as null, or without the key.
    call(&emu, Method::PATCH, "/api/sip", Some(json!({"allowedAgents": [{"agentId": AGENT_A}]}))).await;
    emu.set_omitted_pattern(OmittedPattern::Null);
    let (_, sip) = call(&emu, Method::GET, "/api/sip", None).await;
    assert_eq!(sip["allowedAgents"], json!([{"agentId": AGENT_A, "toUserPattern": null}]));
    emu.set_omitted_pattern(OmittedPattern::Omitted);
    let (_, sip) = call(&emu, Method::GET, "/api/sip", None).await;
    assert_eq!(sip["allowedAgents"], json!([{"agentId": AGENT_A}]));

    // A server without the SIP endpoints.
    emu.set_sip_endpoints(EndpointMode::GoneHtml);
    assert_eq!(call(&emu, Method::GET, "/api/sip", None).await, (StatusCode::NOT_FOUND, Value::Null));
}

#[tokio::test]
async fn sip_write_bodies_are_checked_against_the_official_schemas() {
    let emu =
        start(AccountState::empty().with_registration(SipRegistration::new("r1", "alice", "t.example.com", "pw")));
    // The domain is read-only; a registration needs its password; a pattern is a string.
    call(&emu, Method::PATCH, "/api/sip", Some(json!({"domain": "x.example.com"}))).await;
    call(&emu, Method::POST, "/api/sip/registrations", Some(json!({"username": "bob", "proxy": "t.example.com"})))
        .await;
    call(&emu, Method::PATCH, "/api/sip/registrations/r1", Some(json!({"authUser": 5}))).await;
    let violations = emu.schema_violations();
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(violations[0].starts_with("PATCH /api/sip: PatchedSipConfig:"), "{violations:?}");
    assert!(violations[1].starts_with("POST /api/sip/registrations: SipRegistration:"), "{violations:?}");
    assert!(violations[2].starts_with("PATCH /api/sip/registrations/r1: PatchedSipRegistration:"), "{violations:?}");
}

#[test]
fn seeds_carry_the_sip_settings_with_their_secrets() {
    let text = r#"{"accounts": {"k": {"sip": {"allowedCidrRanges": ["10.0.0.0/8"], "fallbackHandler":
        {"url": "https://h.example.com", "secrets": ["s1"]}}, "sipRegistrations": [{"registrationId": "r1",
        "username": "alice", "password": "pw", "proxy": "t.example.com", "successful": false}]}}}"#;
    let seed = Seed::from_json(text).unwrap();
    let account = &seed.accounts["k"];
    assert_eq!(account.sip.domain, "demo.sip.ultravox.ai", "the default domain");
    assert_eq!(account.sip_registrations[0].successful, Some(false));
    assert_eq!(Seed::from_json(&serde_json::to_string(&seed).unwrap()).unwrap(), seed);
}

/// Write latency holds every write in flight (before it is carried out) while reads answer at once; set through the
/// library or the admin surface.
#[tokio::test]
async fn write_latency_holds_writes_while_reads_answer() {
    let emu = start(AccountState::empty());
    emu.set_write_latency(Duration::from_secs(600));
    let post = tokio::spawn({
        let url = format!("{}/api/telephony_configs/twilio", emu.url());
        async move { client().post(url).header("X-API-Key", KEY).json(&twilio_body()).send().await.map(|r| r.status()) }
    });
    let held = tokio::time::timeout(Duration::from_secs(60), async {
        while emu.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    held.await.expect("gave up after 60s waiting for the POST to reach the emulator");
    let (status, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK, "a read is answered while the write waits");
    assert_eq!(body["twilio"], Value::Null, "the held write is not carried out yet");
    assert_eq!(emu.in_flight(), 1);
    post.abort();

    let admin = client();
    let put = |body: Value| admin.put(format!("{}/_emulator/latency", emu.url())).json(&body).send();
    assert_eq!(put(json!({"ms": 0, "writes": true})).await.unwrap().status(), StatusCode::NO_CONTENT);
    let (status, _) = call(&emu, Method::POST, "/api/telephony_configs/twilio", Some(twilio_body())).await;
    assert_eq!(status, StatusCode::CREATED, "no write latency left");
    assert_eq!(put(json!({"ms": 5, "writes": true, "apiKey": KEY})).await.unwrap().status(), StatusCode::BAD_REQUEST);
}

/// A write that lands, its connection dropped, and the next reads failing: the client can learn neither outcome.
#[tokio::test]
async fn a_lost_answer_followed_by_failing_reads() {
    let emu = start(AccountState::empty());
    emu.push_fault_for("POST", Fault::DropAfterApplyThenFailReads { status: 503, reads: 2 });
    let error = client()
        .post(format!("{}/api/telephony_configs/twilio", emu.url()))
        .header("X-API-Key", KEY)
        .json(&twilio_body())
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(!error.is_status(), "{error:?}");
    for _ in 0..2 {
        let (status, body) = call(&emu, Method::GET, "/api/telephony_configs/twilio", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["detail"].is_string(), "{body}");
    }
    let (status, body) = call(&emu, Method::GET, "/api/telephony_configs/twilio", None).await;
    assert_eq!(status, StatusCode::OK, "the write landed: {body}");
    assert_eq!(body["accountSid"], "AC0123456789abcdef0123456789abcdef");

    // Through the admin surface too.
    let faults = json!([{"kind": "dropAfterApplyThenFailReads", "code": 500, "count": 1, "method": "PATCH"}]);
    let response = client().post(format!("{}/_emulator/faults", emu.url())).json(&faults).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let bad = json!([{"kind": "dropAfterApplyThenFailReads", "code": 500}]);
    let response = client().post(format!("{}/_emulator/faults", emu.url())).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "`count` is required");
}

/// Writes carried out and answered with their status and no body; a refusal still has its body. With
/// `applyThenFailReads`, the reads after such a write fail.
#[tokio::test]
async fn writes_can_be_answered_with_no_body() {
    let emu = start(AccountState::empty());
    emu.set_empty_write_answers(true);
    let path = "/api/telephony_configs/twilio";
    let raw = |method: Method, path: &str, body: Value| {
        client().request(method, format!("{}{path}", emu.url())).header("X-API-Key", KEY).json(&body).send()
    };
    let created = raw(Method::POST, path, twilio_body()).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.text().await.unwrap(), "");
    let patched = raw(Method::PATCH, path, json!({"accountSid": "AC2"})).await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(patched.text().await.unwrap(), "");
    let refused = raw(Method::POST, path, twilio_body()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "one exists");
    assert!(!refused.text().await.unwrap().is_empty());
    let account = raw(Method::PATCH, ACCOUNT_CONFIG, json!({"plivo": null})).await.unwrap();
    assert_eq!((account.status(), account.text().await.unwrap()), (StatusCode::OK, String::new()));
    let (status, body) = call(&emu, Method::GET, path, None).await;
    assert_eq!((status, &body["accountSid"]), (StatusCode::OK, &json!("AC2")), "the writes were carried out");

    emu.push_fault_for("PATCH", Fault::ApplyThenFailReads { status: 500, reads: 1 });
    let patched = raw(Method::PATCH, path, json!({"accountSid": "AC3"})).await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let (status, _) = call(&emu, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, body) = call(&emu, Method::GET, path, None).await;
    assert_eq!(body["accountSid"], "AC3");
    let faults = json!([{"kind": "applyThenFailReads", "code": 503, "count": 2}]);
    let response = client().post(format!("{}/_emulator/faults", emu.url())).json(&faults).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// A 404 with JSON that is not the API's `{"detail": ...}`, as a gateway in front of a server without the path
/// answers; and account-level answers that leave a provider out.
#[tokio::test]
async fn a_foreign_json_404_and_account_answers_missing_a_provider() {
    let emu = start(AccountState::empty().with_plivo(Plivo::new("MA1", "plivo-token")));
    emu.set_provider_endpoints(EndpointMode::GoneForeignJson);
    let (status, body) = call(&emu, Method::GET, "/api/telephony_configs/plivo", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no such route"}));
    assert_eq!(EndpointMode::parse("json"), Ok(EndpointMode::GoneForeignJson));

    emu.set_account_omits(&["plivo"]);
    let (status, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"twilio": null, "telnyx": null}), "plivo exists but is left out");
    let (_, body) = call(&emu, Method::PATCH, ACCOUNT_CONFIG, Some(json!({"twilio": null}))).await;
    assert_eq!(body, json!({"twilio": null, "telnyx": null}), "the PATCH's answer too");
    emu.set_account_omits(&[]);
    let (_, body) = call(&emu, Method::GET, ACCOUNT_CONFIG, None).await;
    assert!(body["plivo"].is_object(), "{body}");
}
