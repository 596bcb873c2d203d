//! The admin surface under `/_emulator/`: no authentication, never recorded, never faulted. For the standalone
//! server and for debugging; tests use the [`Emulator`](crate::Emulator) methods instead.

use hyper::Method;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use serde_json::json;

use crate::api::Reply;
use crate::{FaultSpec, QueuedFault, Seed, Shared};

/// `PUT /_emulator/latency`: milliseconds added to every answer, to one API key's, or to every write.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LatencySpec {
    ms: u64,
    #[serde(default)]
    api_key: Option<String>,
    /// Added to every write (any method but GET and HEAD), on top of the other latencies.
    #[serde(default)]
    writes: bool,
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
                    match (spec.api_key, spec.writes) {
                        (Some(_), true) => {
                            return Reply::detail(400, "`writes` applies to every account: leave `apiKey` out");
                        }
                        (Some(key), false) => {
                            inner.latency_by_key.insert(key, latency);
                        }
                        (None, true) => inner.write_latency = latency,
                        (None, false) => inner.latency = latency,
                    }
                    Reply::empty(204)
                }
                Err(error) => Reply::detail(
                    400,
                    format!(
                        "Expected {{\"ms\": N}}, {{\"ms\": N, \"apiKey\": KEY}} or {{\"ms\": N, \"writes\": true}}: {error}"
                    ),
                ),
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
