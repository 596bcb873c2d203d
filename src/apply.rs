//! Applying a plan: one write holding exactly the providers that change, then a check that the API's answer matches
//! the desired state.

use crate::api::wire::ProviderWrite;
use crate::api::{ApiError, TelephonyApi};
use crate::diff::{self, Action, Plan};
use crate::model::Provider;
use crate::state::{Desired, DesiredState};

/// What a successful apply did.
#[derive(Debug)]
pub struct Applied {
    /// The providers the write held; empty when there was nothing to do (and nothing was sent).
    pub written: Vec<Provider>,
    /// Secrets that were sent but that the answer gave no prefix for: they could not be checked.
    pub unverified: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the write was accepted, but the account does not match the file afterwards:{}", problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    NotConverged { problems: Vec<String> },
    #[error(
        "interrupted ({signal}) while the write of {} was in flight: it may or may not have landed",
        providers.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
    )]
    Interrupted { signal: &'static str, providers: Vec<Provider> },
}

impl ApplyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Api(e) => e.hint(),
            ApplyError::NotConverged { .. } => Some(
                "run `reconcile plan` to see the account as it is now; the API may have normalised or refused a value"
                    .to_string(),
            ),
            ApplyError::Interrupted { .. } => Some(
                "run `reconcile plan` to see what the account holds now; `reconcile apply` again sends only what is left"
                    .to_string(),
            ),
        }
    }
}

/// The providers a plan writes, each with its complete desired block, or `None` to delete it.
pub fn writes<'a>(plan: &Plan, desired: &'a DesiredState) -> Vec<ProviderWrite<'a>> {
    plan.written()
        .filter_map(|pp| match (pp.action, desired.get(pp.provider)) {
            (Action::Delete, Desired::Absent) => Some((pp.provider, None)),
            (Action::Create | Action::Update, Desired::Present(d)) => Some((pp.provider, Some(d))),
            _ => None,
        })
        .collect()
}

/// Sends the plan's one write (none when the plan is empty) and checks the answer.
pub async fn apply<A: TelephonyApi>(api: &A, plan: &Plan, desired: &DesiredState) -> Result<Applied, ApplyError> {
    let writes = writes(plan, desired);
    if writes.is_empty() {
        return Ok(Applied { written: Vec::new(), unverified: Vec::new() });
    }
    let written: Vec<Provider> = writes.iter().map(|(p, _)| *p).collect();
    tracing::info!(providers = ?written, "writing the account's telephony config");
    // A signal during the write is answered honestly: the request may have reached the server.
    let answer = tokio::select! {
        answer = api.write_config(&writes) => answer?,
        signal = interruption() => return Err(ApplyError::Interrupted { signal, providers: written }),
    };
    let check = diff::check_write(desired, &written, &answer);
    if !check.problems.is_empty() {
        return Err(ApplyError::NotConverged { problems: check.problems });
    }
    Ok(Applied { written, unverified: check.unverified })
}

/// Waits for SIGINT or SIGTERM (never resolves where they cannot be listened for) and names the one received.
async fn interruption() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::PlanOptions;
    use crate::state::{DesiredProvider, RemotePrefix, RemoteProvider, RemoteState, Settings};
    use secrecy::{ExposeSecret, SecretString};
    use std::cell::RefCell;

    /// An in-memory account that keeps the secrets it is sent and answers with prefixes of `prefix_len` chars.
    struct FakeApi {
        stored: RefCell<[Option<(DesiredProvider, bool)>; 3]>,
        prefix_len: usize,
        writes: RefCell<Vec<Vec<(Provider, bool)>>>,
        /// Simulates a server that stores something other than what it was sent.
        corrupt: bool,
    }

    impl FakeApi {
        fn new(prefix_len: usize) -> FakeApi {
            FakeApi {
                stored: RefCell::new([None, None, None]),
                prefix_len,
                writes: RefCell::new(Vec::new()),
                corrupt: false,
            }
        }
        fn state(&self) -> RemoteState {
            let stored = self.stored.borrow();
            let mut state = RemoteState::default();
            for (i, slot) in stored.iter().enumerate() {
                state.providers[i] = slot.as_ref().map(|(d, corrupt)| RemoteProvider {
                    provider: d.provider,
                    identifiers: d.identifiers.iter().map(|(f, v)| (f.to_string(), v.clone())).collect(),
                    prefixes: d
                        .secrets
                        .iter()
                        .map(|(f, v)| {
                            let shown: String = if *corrupt {
                                "zz".into()
                            } else {
                                v.expose_secret().chars().take(self.prefix_len).collect()
                            };
                            (f.to_string(), Some(RemotePrefix::new(shown)))
                        })
                        .collect(),
                    settings: d.settings.clone(),
                });
            }
            state
        }
    }

    impl TelephonyApi for FakeApi {
        async fn fetch_config(&self) -> Result<RemoteState, ApiError> {
            Ok(self.state())
        }
        async fn write_config(&self, writes: &[ProviderWrite<'_>]) -> Result<RemoteState, ApiError> {
            self.writes.borrow_mut().push(writes.iter().map(|(p, d)| (*p, d.is_some())).collect());
            for (p, d) in writes {
                self.stored.borrow_mut()[p.index()] = d.map(|d| (d.clone(), self.corrupt));
            }
            Ok(self.state())
        }
        async fn find_agents(&self, _search: &str) -> Result<Vec<crate::api::wire::Agent>, ApiError> {
            Ok(Vec::new())
        }
    }

    fn desired_plivo(token: &str) -> DesiredState {
        DesiredState {
            providers: [
                Desired::Unmanaged,
                Desired::Absent,
                Desired::Present(DesiredProvider {
                    provider: Provider::Plivo,
                    identifiers: vec![("authId", "MA1".into())],
                    secrets: vec![("authToken", SecretString::from(token.to_string()))],
                    settings: Settings::default(),
                }),
            ],
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn plan_apply_plan_converges_and_second_apply_sends_nothing() {
        for prefix_len in [1, 4, 12] {
            let api = FakeApi::new(prefix_len);
            let desired = desired_plivo("plivo-token-value");
            let first = diff::plan(&desired, &run(api.fetch_config()).unwrap(), PlanOptions::default());
            assert_eq!(first.counts().create, 1);
            let applied = run(apply(&api, &first, &desired)).unwrap();
            assert_eq!(applied.written, vec![Provider::Plivo]);
            let second = diff::plan(&desired, &run(api.fetch_config()).unwrap(), PlanOptions::default());
            assert!(second.is_empty(), "prefix length {prefix_len}: {second:?}");
            run(apply(&api, &second, &desired)).unwrap();
            assert_eq!(api.writes.borrow().len(), 1, "an empty plan writes nothing");
        }
    }

    #[test]
    fn a_mismatching_answer_is_an_error_naming_the_field() {
        let mut api = FakeApi::new(4);
        api.corrupt = true;
        let desired = desired_plivo("plivo-token-value");
        let plan = diff::plan(&desired, &RemoteState::default(), PlanOptions::default());
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        assert!(err.to_string().contains("plivo.authToken"), "{err}");
    }
}
