//! The admin surface under `/_emulator/`: no authentication, never recorded, never faulted. For the standalone
//! server and for debugging; tests use the [`Emulator`](crate::Emulator) methods instead.

use hyper::Method;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use serde_json::json;

use crate::api::Reply;
use crate::{FaultSpec, QueuedFault, Seed, Shared};

/// `PUT /_emulator/latency`: milliseconds added to every answer, or to one API key's.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LatencySpec {
    ms: u64,
    #[serde(default)]
    api_key: Option<String>,
}

pub(crate) fn handle(shared: &Shared, parts: &Parts, body: &Bytes) -> Reply {
    let method = &parts.method;
    match parts.uri.path() {
        "/_emulator/requests" => match *method {
            Method::GET => Reply::json(200, json!(shared.lock().requests)),
            Method::DELETE => {
                shared.lock().requests.clear();
                Reply::empty(204)
            }
            _ => Reply::method_not_allowed(method, "GET, DELETE"),
        },
        "/_emulator/faults" => match *method {
            Method::POST => {
                let specs: Vec<FaultSpec> = match serde_json::from_slice(body) {
                    Ok(specs) => specs,
                    Err(error) => return Reply::detail(400, format!("Expected a JSON list of faults: {error}")),
                };
                let mut faults = Vec::with_capacity(specs.len());
                for spec in specs {
                    match spec.into_fault() {
                        Ok((method, fault)) => {
                            faults.push(QueuedFault { method: method.map(|m| m.to_ascii_uppercase()), fault })
                        }
                        Err(message) => return Reply::detail(400, message),
                    }
                }
                shared.lock().faults.extend(faults);
                Reply::empty(204)
            }
            Method::DELETE => {
                shared.lock().faults.clear();
                Reply::empty(204)
            }
            _ => Reply::method_not_allowed(method, "POST, DELETE"),
        },
        "/_emulator/always-fail" => match *method {
            Method::PUT => match serde_json::from_slice::<Option<u16>>(body) {
                Ok(status) => {
                    shared.lock().always_fail = status;
                    Reply::empty(204)
                }
                Err(error) => Reply::detail(400, format!("Expected a status code or null: {error}")),
            },
            _ => Reply::method_not_allowed(method, "PUT"),
        },
        "/_emulator/latency" => match *method {
            Method::PUT => match serde_json::from_slice::<LatencySpec>(body) {
                Ok(spec) => {
                    let latency = std::time::Duration::from_millis(spec.ms);
                    let mut inner = shared.lock();
                    match spec.api_key {
                        Some(key) => {
                            inner.latency_by_key.insert(key, latency);
                        }
                        None => inner.latency = latency,
                    }
                    Reply::empty(204)
                }
                Err(error) => {
                    Reply::detail(400, format!("Expected {{\"ms\": N}} or {{\"ms\": N, \"apiKey\": KEY}}: {error}"))
                }
            },
            _ => Reply::method_not_allowed(method, "PUT"),
        },
        "/_emulator/state" => match *method {
            Method::GET => {
                let seed = Seed { accounts: shared.lock().accounts.clone() };
                Reply::json(200, json!(seed))
            }
            Method::PUT => match serde_json::from_slice::<Seed>(body) {
                Ok(seed) => {
                    shared.lock().accounts = seed.accounts;
                    Reply::empty(204)
                }
                Err(error) => Reply::detail(400, format!("Expected {{\"accounts\": {{API_KEY: account}}}}: {error}")),
            },
            _ => Reply::method_not_allowed(method, "GET, PUT"),
        },
        _ => Reply::not_found(),
    }
}
