//! Reading the account and applying a plan through an endpoint family, with a convergence check on every write's
//! answer.
//!
//! [`apply`] sends exactly the plan's requests ([`crate::plan::Plan::requests`]), in order: on `account`, one write
//! holding exactly the providers that change; otherwise one request per changed provider, creates and updates first,
//! deletes last. A failed request stops the rest, and the error names, subject by subject (a provider, `sip`, a
//! registration), what was written, what failed (the server said it was not done), what is in doubt (it may or may
//! not have landed: the answer was lost and could not be read back, or a signal stopped the run while it was in
//! flight), and what was not written. Once a signal was received ([`crate::stop`]) no further request is sent.
//!
//! A create (`POST`) is at most [`crate::api::Attempts::max`] POSTs in all: after an ambiguous failure (502, 504, a lost
//! connection, a timeout) the provider is read again before anything else is sent (present and matching is done,
//! present and different gets a PATCH of the difference, absent gets the POST again, within the same allowance and
//! time budget); 429 and 503 are retried by the client within that allowance; any other answer ends the create.
//!
//! The SIP config and registrations the file manages are read beside the providers ([`read_state`]), and written in
//! the plan's order: after the providers' creates and updates, the SIP config's one PATCH (its fallback handler with
//! the file's secrets, or the account's kept ones), the registrations' POSTs and PATCHes, then the deletes. A
//! registration's POST is a create like a provider's: at most four POSTs in all, and after an ambiguous failure the
//! registrations are read again before any new POST.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::wire::ProviderWrite;
use crate::api::{ApiError, TelephonyApi};
use crate::diff::{self, PlanOptions};
use crate::endpoints::{Family, Method, Target};
use crate::plan::{Plan, Request, Subject};
use crate::provider::Provider;
use crate::state::{
    Desired, DesiredProvider, DesiredRegistration, DesiredState, RemoteProvider, RemoteRegistration, RemoteSip,
    RemoteState,
};

/// What a successful apply did.
#[derive(Debug)]
pub struct Applied {
    /// What was written, in send order; empty when there was nothing to do (and nothing was sent).
    pub written: Vec<Subject>,
    /// Secrets that were sent but that the answer gave no prefix for: they could not be checked.
    pub unverified: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the write was accepted, but the account does not match the file afterwards:{}", problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    NotConverged { problems: Vec<String> },
    /// A request of a plan failed: what the plan's requests came to, subject by subject. With one request the
    /// message is its failure alone; with several, a line follows naming each subject's fate.
    #[error("{source}{}", if *several { fates_line(source, written, request, not_written) } else { String::new() })]
    Partial {
        source: Box<ApplyError>,
        /// Written (and checked) before the failure.
        written: Vec<Subject>,
        /// What the request that failed (or was in flight) writes; empty when the failure came before it was sent
        /// (a signal).
        request: Vec<Subject>,
        /// Never sent.
        not_written: Vec<Subject>,
        /// Whether the plan had several requests.
        several: bool,
    },
    #[error("the plan's request {method} {path} names nothing the file declares; nothing more was sent")]
    Unplannable { method: String, path: String },
    /// A signal was received between two requests: the next one was not sent.
    #[error("interrupted ({signal}) before {method} {path} was sent; nothing more was sent")]
    Stopped { signal: crate::stop::Signal, method: String, path: String },
    /// An ambiguous failure of a create, and the read that was to tell whether it landed failed too.
    #[error("{write}; reading {subject} again to learn whether it landed failed too: {read}")]
    InDoubt { write: Box<ApiError>, read: Box<ApiError>, subject: Subject },
    /// A create that gave up, and the read after its last attempt found it absent: it did not land.
    #[error("{source}; {subject} was read again after it and is absent: it was not created")]
    NotCreated { source: Box<ApiError>, subject: Subject },
}

fn names(subjects: &[Subject]) -> String {
    if subjects.is_empty() {
        "none".into()
    } else {
        subjects.iter().map(Subject::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// `written: ...; in doubt (it may or may not have landed): ...; not written: ...`, on its own line: the request
/// that failed is in doubt, failed, or (when only its answer's check failed) written.
fn fates_line(source: &ApplyError, written: &[Subject], request: &[Subject], not_written: &[Subject]) -> String {
    let landed = matches!(source, ApplyError::NotConverged { .. });
    let mut all_written = written.to_vec();
    if landed {
        all_written.extend_from_slice(request);
    }
    let mut line = format!("\n  written: {}", names(&all_written));
    if !request.is_empty() && !landed {
        let fate = if source.outcome_unknown() { IN_DOUBT } else { "failed" };
        line.push_str(&format!("; {fate}: {}", names(request)));
    }
    line.push_str(&format!("; not written: {}", names(not_written)));
    line
}

/// How a write whose outcome is unknown is named, everywhere.
pub const IN_DOUBT: &str = "in doubt (it may or may not have landed)";

impl ApplyError {
    /// Whether the failed write may have landed (an ambiguous answer, or an interruption while it was in flight).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApplyError::Api(e) => e.write_outcome_unknown(),
            ApplyError::InDoubt { .. } => true,
            ApplyError::Partial { source, .. } => source.outcome_unknown(),
            _ => false,
        }
    }

    /// What was written before the failure (and checked), in send order. A write whose answer does not match the
    /// file landed: it is counted as written.
    pub fn written(&self) -> Vec<Subject> {
        match self {
            ApplyError::Partial { source, written, request, .. } => {
                let mut all = written.clone();
                if matches!(**source, ApplyError::NotConverged { .. }) {
                    all.extend_from_slice(request);
                }
                all
            }
            _ => Vec::new(),
        }
    }

    /// What the write that may or may not have landed writes.
    pub fn in_doubt(&self) -> Vec<Subject> {
        match self {
            ApplyError::Partial { source, request, .. } if source.outcome_unknown() => request.clone(),
            _ => Vec::new(),
        }
    }

    /// What the write that failed writes: the server said it was not done.
    pub fn failed(&self) -> Vec<Subject> {
        match self {
            ApplyError::Partial { source, request, .. }
                if !source.outcome_unknown() && !matches!(**source, ApplyError::NotConverged { .. }) =>
            {
                request.clone()
            }
            _ => Vec::new(),
        }
    }

    /// What was never sent.
    pub fn not_written(&self) -> Vec<Subject> {
        match self {
            ApplyError::Partial { not_written, .. } => not_written.clone(),
            _ => Vec::new(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Api(e) => e.hint(),
            ApplyError::NotConverged { .. } => Some(
                "run `reconcile plan` to see the account as it is now; the API may have normalised or refused a value"
                    .to_string(),
            ),
            ApplyError::Partial { source, several, .. } => {
                const AGAIN: &str =
                    "running `reconcile apply` again is safe: it reads the account first and sends only what is left";
                Some(match source.hint() {
                    Some(hint) if !several => hint,
                    // An unknown outcome or an interruption already says to plan and apply again.
                    Some(hint) if hint.contains("sends only what is left") => hint,
                    Some(hint) => format!("{hint}; {AGAIN}"),
                    None => AGAIN.to_string(),
                })
            }
            ApplyError::Unplannable { .. } => Some("make a new plan and apply that one".into()),
            ApplyError::Stopped { .. } => Some(
                "run `reconcile plan` to see what the account holds now; `reconcile apply` again sends only what is left"
                    .to_string(),
            ),
            ApplyError::InDoubt { .. } => Some(
                "the create may or may not have landed: run `reconcile plan` to see the account as it is now; applying \
                 again is safe (it reads the account first and sends only what is left)"
                    .to_string(),
            ),
            ApplyError::NotCreated { subject, .. } => Some(format!(
                "nothing was created: {subject} is still absent; the API kept failing, so try again later (running \
                 `reconcile apply` again is safe: it reads the account first and sends only what is left)"
            )),
        }
    }
}

/// Whether the fallback from the account-level read was already reported (once per run).
static FALLBACK_REPORTED: AtomicBool = AtomicBool::new(false);

/// Reads the account's config through `family`: the account-level GET (`account`, `auto`), or one GET per provider,
/// sent concurrently (`provider`, and `auto` once the account-level endpoint answers 404, 405 or 410).
pub async fn read<A: TelephonyApi>(api: &A, family: Family) -> Result<RemoteState, ApiError> {
    match family {
        Family::Account => api.fetch_config().await,
        Family::Provider => read_providers(api).await,
        Family::Auto => match api.fetch_config().await {
            Err(ApiError::Status { status: status @ (404 | 405 | 410), .. }) => {
                if !FALLBACK_REPORTED.swap(true, Ordering::Relaxed) {
                    tracing::info!(
                        "the account-level endpoint answered HTTP {status} (removed?): reading through the \
                         provider-scoped endpoints instead"
                    );
                }
                read_providers(api).await
            }
            other => other,
        },
    }
}

/// Reads everything a plan of `desired` compares, concurrently: the providers through `family`, and the SIP config
/// and registrations the file manages (those it leaves unmanaged are not read).
pub async fn read_state<A: TelephonyApi>(
    api: &A,
    family: Family,
    desired: &DesiredState,
) -> Result<RemoteState, ApiError> {
    let (telephony, (sip, registrations)) =
        tokio::join!(read(api, family), read_sip(api, desired.sip.is_some(), desired.registrations.is_some()));
    let mut remote = telephony?;
    remote.sip = sip?;
    remote.registrations = registrations?;
    Ok(remote)
}

/// Reads the SIP config (`config`) and every registration (`registrations`), concurrently; `None` for what is not
/// asked for.
pub async fn read_sip<A: TelephonyApi>(
    api: &A,
    config: bool,
    registrations: bool,
) -> (Result<Option<RemoteSip>, ApiError>, Result<Option<Vec<RemoteRegistration>>, ApiError>) {
    let sip = async {
        match config {
            true => api.fetch_sip().await.map(Some),
            false => Ok(None),
        }
    };
    let list = async {
        match registrations {
            true => api.list_registrations().await.map(Some),
            false => Ok(None),
        }
    };
    tokio::join!(sip, list)
}

async fn read_providers<A: TelephonyApi>(api: &A) -> Result<RemoteState, ApiError> {
    let (twilio, telnyx, plivo) = tokio::join!(
        api.fetch_provider(Provider::Twilio),
        api.fetch_provider(Provider::Telnyx),
        api.fetch_provider(Provider::Plivo)
    );
    Ok(RemoteState { providers: [twilio?, telnyx?, plivo?], ..RemoteState::default() })
}

/// The providers the account-level PATCH names, each with its complete desired block, or `None` to delete it.
fn account_writes<'a>(request: &Request, desired: &'a DesiredState) -> Vec<ProviderWrite<'a>> {
    request
        .providers()
        .into_iter()
        .filter_map(|provider| match desired.get(provider) {
            Desired::Absent => Some((provider, None)),
            Desired::Present(d) => Some((provider, Some(d))),
            Desired::Unmanaged => None,
        })
        .collect()
}

/// Sends the plan's requests in order and checks each answer. `desired` gives the values (the plan holds none); the
/// plan alone decides what is sent. Once a signal was received, nothing more is sent.
pub async fn apply<A: TelephonyApi>(api: &A, plan: &Plan, desired: &DesiredState) -> Result<Applied, ApplyError> {
    let requests = plan.requests();
    let subjects = plan.subjects();
    let mut applied = Applied { written: Vec::new(), unverified: Vec::new() };
    for (i, request) in requests.iter().enumerate() {
        let subject = subjects.get(i).cloned().unwrap_or_default();
        let (result, sent) = match crate::stop::requested() {
            Some(signal) => {
                let stopped = ApplyError::Stopped {
                    signal,
                    method: request.method.as_str().to_string(),
                    path: request.shown_path(),
                };
                (Err(stopped), false)
            }
            None => (apply_one(api, plan, desired, request, &subject).await, true),
        };
        match result {
            Ok((written, unverified)) => {
                applied.written.extend(written);
                applied.unverified.extend(unverified);
            }
            Err(error) => {
                let not_sent = if sent { i + 1 } else { i };
                return Err(ApplyError::Partial {
                    source: Box::new(error),
                    written: applied.written,
                    request: if sent { subject } else { Vec::new() },
                    not_written: subjects.iter().skip(not_sent).flatten().cloned().collect(),
                    several: requests.len() > 1,
                });
            }
        }
    }
    Ok(applied)
}

/// Sends one request and checks its answer; returns what it wrote and the secrets whose landing it could not check.
async fn apply_one<A: TelephonyApi>(
    api: &A,
    plan: &Plan,
    desired: &DesiredState,
    request: &Request,
    subjects: &[Subject],
) -> Result<(Vec<Subject>, Vec<String>), ApplyError> {
    let unplannable =
        || ApplyError::Unplannable { method: request.method.as_str().to_string(), path: request.shown_path() };
    let provider = match (&request.target, request.method) {
        (Target::Account, Method::Patch) => {
            let (written, unverified) = apply_account_level(api, desired, request).await?;
            return Ok((written.into_iter().map(Subject::Provider).collect(), unverified));
        }
        (Target::Provider(provider), _) => *provider,
        (Target::Sip, Method::Patch) => {
            let Some(sip) = &desired.sip else { return Err(unplannable()) };
            tracing::info!("PATCH {} ({})", request.shown_path(), request.fields.join(", "));
            let answer = api.update_sip(sip, &request.fields, plan.kept_secrets()).await?;
            let problems = diff::check_sip(sip, &answer);
            if !problems.is_empty() {
                return Err(ApplyError::NotConverged { problems });
            }
            return Ok((vec![Subject::Sip], Vec::new()));
        }
        (Target::Registrations | Target::Registration(_), _) => {
            let key = match subjects {
                [Subject::Registration(key)] => key,
                _ => return Err(unplannable()),
            };
            tracing::info!("{} {} ({})", request.method.as_str(), request.shown_path(), request.fields.join(", "));
            let listed = desired.registrations.iter().flatten().find(|r| &r.key == key);
            let answer = match (&request.target, request.method, listed) {
                // Not listed, or a second registration of a listed identity: the plan deletes it by its ID.
                (Target::Registration(id), Method::Delete, _) => {
                    api.delete_registration(id).await?;
                    return Ok((subjects.to_vec(), Vec::new()));
                }
                (Target::Registrations, Method::Post, Some(d)) => create_registration(api, d).await?,
                (Target::Registration(id), Method::Patch, Some(d)) => {
                    api.update_registration(id, d, &request.fields).await?
                }
                _ => return Err(unplannable()),
            };
            let problems = listed.map(|d| diff::check_registration(d, &answer)).unwrap_or_default();
            if !problems.is_empty() {
                return Err(ApplyError::NotConverged { problems });
            }
            return Ok((subjects.to_vec(), Vec::new()));
        }
        (Target::Account | Target::Sip, _) => return Err(unplannable()),
    };
    tracing::info!("{} {} ({})", request.method.as_str(), request.shown_path(), request.fields.join(", "));
    let check = match (request.method, desired.get(provider)) {
        (Method::Delete, Desired::Absent) => {
            api.delete_provider(provider).await?;
            return Ok((vec![Subject::Provider(provider)], Vec::new()));
        }
        (Method::Post, Desired::Present(d)) => create(api, d).await?,
        (Method::Patch, Desired::Present(d)) => {
            let answer = api.update_provider(d, &request.fields).await?;
            diff::check_patch(d, &request.fields, &answer.provider, &answer.carried)
        }
        _ => return Err(unplannable()),
    };
    if !check.problems.is_empty() {
        return Err(ApplyError::NotConverged { problems: check.problems });
    }
    Ok((vec![Subject::Provider(provider)], check.unverified))
}

/// Checks a create's answer: the complete block was sent, so every field is compared.
fn check_created(d: &DesiredProvider, answer: RemoteProvider) -> diff::WriteCheck {
    let mut only = DesiredState::default();
    only.providers[d.provider.index()] = Desired::Present(d.clone());
    let mut state = RemoteState::default();
    state.providers[d.provider.index()] = Some(answer);
    diff::check_write(&only, &[d.provider], &state)
}

/// The account-level write: one PATCH holding every provider the request names, each as a complete block.
async fn apply_account_level<A: TelephonyApi>(
    api: &A,
    desired: &DesiredState,
    request: &Request,
) -> Result<(Vec<Provider>, Vec<String>), ApplyError> {
    let writes = account_writes(request, desired);
    let written: Vec<Provider> = writes.iter().map(|(p, _)| *p).collect();
    tracing::info!(providers = ?written, "writing the account's telephony config");
    let answer = api.write_config(&writes).await?;
    let check = diff::check_write(desired, &written, &answer);
    if !check.problems.is_empty() {
        return Err(ApplyError::NotConverged { problems: check.problems });
    }
    Ok((written, check.unverified))
}

/// POSTs a declared provider, at most [`crate::api::Attempts::max`] times in all (the client retries 429 and 503 within the
/// same allowance and time budget). After an ambiguous failure (502, 504, a lost connection, a timeout: it may have
/// landed) the create waits ([`TelephonyApi::pause`]: the server's `Retry-After` or the backoff) and reads the
/// provider again before anything else: present and matching is done, present and different gets a PATCH of the
/// difference, absent gets the POST again while the allowance lasts. Any other failure ends it; after an earlier
/// ambiguous round (a 400 "already exists" to a POST repeated over one that landed late) the provider is read once
/// more to say which: present is settled as above, absent is the failure.
/// Returns the check of the landing write's answer against `d`.
async fn create<A: TelephonyApi>(api: &A, d: &DesiredProvider) -> Result<diff::WriteCheck, ApplyError> {
    let subject = Subject::Provider(d.provider);
    let mut attempts = api.attempts();
    // Whether an earlier POST of this create may have landed.
    let mut unsure = false;
    loop {
        let error = match api.create_provider(d, &mut attempts).await {
            Ok(answer) => return Ok(check_created(d, answer)),
            Err(e) if e.ambiguous() || (unsure && !e.interrupted()) => e,
            Err(e) => return Err(e.into()),
        };
        let ambiguous = error.ambiguous();
        if ambiguous && let Some(signal) = api.pause(&error, &attempts).await {
            return Err(error.stopped_after(signal).into());
        }
        unsure = true;
        tracing::info!("{error}; reading {} again before deciding what to send", d.provider);
        let now = match api.fetch_provider(d.provider).await {
            Ok(now) => now,
            Err(read) => {
                return Err(ApplyError::InDoubt { write: Box::new(error), read: Box::new(read), subject });
            }
        };
        let Some(now) = now else {
            if !ambiguous {
                // The server said this POST was not done, and none before it landed.
                return Err(error.into());
            }
            if let Some(why) = attempts.exhausted() {
                let source = Box::new(error.gave_up_after(attempts.made, why));
                return Err(ApplyError::NotCreated { source, subject });
            }
            tracing::info!("{} is absent: the POST did not land; sending it again", d.provider);
            continue;
        };
        let mut only = DesiredState::default();
        only.providers[d.provider.index()] = Desired::Present(d.clone());
        let mut remote = RemoteState::default();
        remote.providers[d.provider.index()] = Some(now.clone());
        let plan = Plan::new(&only, &remote, Family::Provider, PlanOptions::default());
        return match plan.requests().first() {
            None => {
                tracing::info!("{} is present and matches: the POST landed", d.provider);
                Ok(check_created(d, now))
            }
            Some(patch) => {
                tracing::info!("{} is present but differs: sending the difference", d.provider);
                let answer = api.update_provider(d, &patch.fields).await?;
                Ok(diff::check_patch(d, &patch.fields, &answer.provider, &answer.carried))
            }
        };
    }
}

/// POSTs a declared registration: a create like a provider's ([`create`]), at most [`crate::api::Attempts::max`] POSTs
/// in all. After an ambiguous failure (it may have landed) the create waits as a provider's does, then reads the
/// registrations again before anything else: present (the POST landed) and matching is done, present and different
/// gets a PATCH of the difference, absent gets the POST again while the allowance lasts. Any other failure ends it;
/// after an earlier ambiguous round the registrations are read once more to say which.
async fn create_registration<A: TelephonyApi>(
    api: &A,
    d: &DesiredRegistration,
) -> Result<RemoteRegistration, ApplyError> {
    let subject = Subject::Registration(d.key.clone());
    let mut attempts = api.attempts();
    // Whether an earlier POST of this create may have landed.
    let mut unsure = false;
    loop {
        let error = match api.create_registration(d, &mut attempts).await {
            Ok(answer) => return Ok(answer),
            Err(e) if e.ambiguous() || (unsure && !e.interrupted()) => e,
            Err(e) => return Err(e.into()),
        };
        let ambiguous = error.ambiguous();
        if ambiguous && let Some(signal) = api.pause(&error, &attempts).await {
            return Err(error.stopped_after(signal).into());
        }
        unsure = true;
        tracing::info!("{error}; reading the registrations again before deciding what to send");
        let listed = match api.list_registrations().await {
            Ok(listed) => listed,
            Err(read) => {
                return Err(ApplyError::InDoubt { write: Box::new(error), read: Box::new(read), subject });
            }
        };
        let Some(now) = listed.into_iter().find(|r| r.key == d.key) else {
            if !ambiguous {
                // The server said this POST was not done, and none before it landed.
                return Err(error.into());
            }
            if let Some(why) = attempts.exhausted() {
                let source = Box::new(error.gave_up_after(attempts.made, why));
                return Err(ApplyError::NotCreated { source, subject });
            }
            tracing::info!("{subject} is absent: the POST did not land; sending it again");
            continue;
        };
        let fields = diff::differing_fields(d, &now);
        if fields.is_empty() {
            tracing::info!("{subject} is present and matches: the POST landed");
            return Ok(now);
        }
        tracing::info!("{subject} is present but differs: sending the difference");
        return Ok(api.update_registration(&now.id, d, &fields).await?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Attempts;
    use crate::state::{DesiredProvider, RemotePrefix, RemoteProvider, RemoteState, Settings};
    use secrecy::{ExposeSecret, SecretString};
    use std::cell::RefCell;

    /// An in-memory account that keeps the secrets it is sent and answers with prefixes of `prefix_len` chars.
    struct FakeApi {
        stored: RefCell<[Option<(DesiredProvider, bool)>; 3]>,
        prefix_len: usize,
        writes: RefCell<Vec<Vec<(Provider, bool)>>>,
        /// Every provider-scoped request: `METHOD provider field,field`.
        log: RefCell<Vec<String>>,
        /// Simulates a server that stores something other than what it was sent.
        corrupt: bool,
        /// POSTs that land but whose answer is lost (a 502 after the write).
        lose_post_answers: RefCell<usize>,
        /// POSTs answered 502 without landing.
        fail_posts: RefCell<usize>,
        /// The time budget of a create's attempts.
        budget: std::time::Duration,
        /// Requests (by method) that fail with 400 before doing anything.
        refuse: Option<&'static str>,
        /// A POST answered 502 by `fail_posts` lands late: after the next read.
        land_late: RefCell<bool>,
        /// Held by a POST that lands late, until that read.
        landing: RefCell<Option<DesiredProvider>>,
        /// Every POST after the first is refused with 400.
        refuse_after_first_post: std::cell::Cell<bool>,
    }

    impl FakeApi {
        fn new(prefix_len: usize) -> FakeApi {
            FakeApi {
                stored: RefCell::new([None, None, None]),
                prefix_len,
                writes: RefCell::new(Vec::new()),
                log: RefCell::new(Vec::new()),
                corrupt: false,
                lose_post_answers: RefCell::new(0),
                fail_posts: RefCell::new(0),
                budget: std::time::Duration::from_secs(60),
                refuse: None,
                land_late: RefCell::new(false),
                landing: RefCell::new(None),
                refuse_after_first_post: std::cell::Cell::new(false),
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
        async fn fetch_provider(&self, provider: Provider) -> Result<Option<RemoteProvider>, ApiError> {
            self.log.borrow_mut().push(format!("GET {provider}"));
            let now = self.state().providers[provider.index()].clone();
            if let Some(late) = self.landing.borrow_mut().take() {
                let index = late.provider.index();
                self.stored.borrow_mut()[index] = Some((late, self.corrupt));
            }
            Ok(now)
        }
        async fn create_provider(
            &self,
            d: &DesiredProvider,
            attempts: &mut Attempts,
        ) -> Result<RemoteProvider, ApiError> {
            attempts.made += 1;
            attempts.started.get_or_insert_with(std::time::Instant::now);
            self.log.borrow_mut().push(format!("POST {}", d.provider));
            self.check_refused("POST")?;
            if attempts.made > 1 && self.refuse_after_first_post.get() {
                return Err(status(400, "POST"));
            }
            if *self.fail_posts.borrow() > 0 {
                *self.fail_posts.borrow_mut() -= 1;
                if *self.land_late.borrow() {
                    *self.landing.borrow_mut() = Some(d.clone());
                }
                return Err(status(502, "POST"));
            }
            if self.stored.borrow()[d.provider.index()].is_some() {
                return Err(status(400, "POST"));
            }
            self.stored.borrow_mut()[d.provider.index()] = Some((d.clone(), self.corrupt));
            if *self.lose_post_answers.borrow() > 0 {
                *self.lose_post_answers.borrow_mut() -= 1;
                return Err(status(502, "POST"));
            }
            Ok(self.state().providers[d.provider.index()].clone().unwrap())
        }
        fn attempts(&self) -> Attempts {
            Attempts::new(4, self.budget)
        }
        async fn pause(&self, _after: &ApiError, _attempts: &Attempts) -> Option<crate::stop::Signal> {
            self.log.borrow_mut().push("wait".into());
            None
        }
        async fn update_provider(
            &self,
            d: &DesiredProvider,
            fields: &[String],
        ) -> Result<crate::api::PatchAnswer, ApiError> {
            self.log.borrow_mut().push(format!("PATCH {} {}", d.provider, fields.join(",")));
            self.check_refused("PATCH")?;
            // A field-level merge: only the named fields change.
            let mut stored = self.stored.borrow_mut();
            let Some((current, _)) = stored[d.provider.index()].as_mut() else { return Err(status(404, "PATCH")) };
            let has = |f: &str| fields.iter().any(|x| x == f);
            for (i, (f, v)) in d.identifiers.iter().enumerate() {
                if has(f) {
                    current.identifiers[i].1 = v.clone();
                }
            }
            for (i, (f, v)) in d.secrets.iter().enumerate() {
                if has(f) {
                    current.secrets[i].1 = v.clone();
                }
            }
            if has(crate::provider::AGENT_IDS) {
                current.settings.allowed_agent_ids = d.settings.allowed_agent_ids.clone();
            }
            if has(crate::provider::ALLOW_ALL) {
                current.settings.allow_all_agents = d.settings.allow_all_agents;
            }
            if has(crate::provider::CONTEXT_MAPPING) {
                current.settings.request_context_mapping = d.settings.request_context_mapping.clone();
            }
            drop(stored);
            let provider = self.state().providers[d.provider.index()].clone().unwrap();
            let carried = d.provider.known_keys().into_iter().map(str::to_string).collect();
            Ok(crate::api::PatchAnswer { provider, carried })
        }
        async fn delete_provider(&self, provider: Provider) -> Result<(), ApiError> {
            self.log.borrow_mut().push(format!("DELETE {provider}"));
            self.check_refused("DELETE")?;
            self.stored.borrow_mut()[provider.index()] = None;
            Ok(())
        }
        async fn find_agents(&self, _search: &str) -> Result<Vec<crate::api::wire::Agent>, ApiError> {
            Ok(Vec::new())
        }
    }

    impl FakeApi {
        fn check_refused(&self, method: &str) -> Result<(), ApiError> {
            if self.refuse == Some(method) { Err(status(400, method)) } else { Ok(()) }
        }
    }

    fn status(code: u16, method: &str) -> ApiError {
        ApiError::Status {
            method: method.into(),
            url: "http://127.0.0.1/x".into(),
            status: code,
            messages: Vec::new(),
            attempts: 1,
            gave_up: None,
            detail_body: true,
            earlier_unknown: false,
            retry_after: None,
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
            ..Default::default()
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
            let first = plan_for(&api, &desired, Family::Account, false);
            assert_eq!(first.counts().create, 1);
            let applied = run(apply(&api, &first, &desired)).unwrap();
            assert_eq!(applied.written, vec![Subject::Provider(Provider::Plivo)]);
            let second = plan_for(&api, &desired, Family::Account, false);
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
        let plan = Plan::new(&desired, &RemoteState::default(), Family::Account, PlanOptions::default());
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        assert!(err.to_string().contains("plivo.authToken"), "{err}");
    }

    fn desired_two(token: &str, agents_twilio: bool) -> DesiredState {
        let mut desired = desired_plivo(token);
        desired.providers[0] = Desired::Present(DesiredProvider {
            provider: Provider::Twilio,
            identifiers: vec![("accountSid", "AC1".into())],
            secrets: vec![("authToken", SecretString::from("twilio-token".to_string()))],
            settings: Settings {
                allowed_agent_ids: if agents_twilio {
                    vec!["3c90c3cc-0d44-4b50-8888-8dd25736052a".into()]
                } else {
                    Vec::new()
                },
                ..Settings::default()
            },
        });
        desired
    }

    fn plan_for(api: &FakeApi, desired: &DesiredState, family: Family, rotate: bool) -> Plan {
        let remote = run(read(api, family)).unwrap();
        Plan::new(desired, &remote, family, PlanOptions { rotate })
    }

    #[test]
    fn a_plan_read_through_each_family_carries_it_and_apply_sends_exactly_its_requests() {
        for family in [Family::Auto, Family::Provider, Family::Account] {
            // plivo stored as declared, its token shown with an empty prefix: unverifiable.
            let api = FakeApi::new(0);
            let desired = desired_plivo("plivo-token-value");
            if let Desired::Present(d) = &desired.providers[2] {
                api.stored.borrow_mut()[2] = Some((d.clone(), false));
            }
            let plan = plan_for(&api, &desired, family, false);
            assert_eq!(plan.family(), family);
            assert!(plan.requests().is_empty(), "{family}: nothing to write");
            assert_eq!(plan.unverifiable(), vec!["plivo.authToken"]);
            // What the plan's note says of such a secret: a block carries it only on the account family.
            assert_eq!(plan.writes_whole_blocks(), family == Family::Account, "{family}");
            api.log.borrow_mut().clear();
            run(apply(&api, &plan, &desired)).unwrap();
            assert!(api.log.borrow().is_empty() && api.writes.borrow().is_empty(), "{family}: nothing sent");

            // Another field changes: the account-level PATCH carries the whole block, a provider PATCH the field.
            let mut changed = desired.clone();
            if let Desired::Present(d) = &mut changed.providers[2] {
                d.settings.allow_all_agents = true;
            }
            let plan = plan_for(&api, &changed, family, false);
            let expected = match family {
                Family::Account => {
                    Request { target: Target::Account, method: Method::Patch, fields: vec!["plivo".into()] }
                }
                _ => Request {
                    target: Target::Provider(Provider::Plivo),
                    method: Method::Patch,
                    fields: vec![crate::provider::ALLOW_ALL.into()],
                },
            };
            assert_eq!(plan.requests(), [expected], "{family}");
            assert_eq!(plan.sends(Provider::Plivo, "authToken"), family == Family::Account, "{family}");
            run(apply(&api, &plan, &changed)).unwrap();
            let sent: Vec<String> = api.log.borrow().iter().filter(|l| !l.starts_with("GET")).cloned().collect();
            if family == Family::Account {
                assert_eq!(*api.writes.borrow(), vec![vec![(Provider::Plivo, true)]]);
                assert!(sent.is_empty(), "{sent:?}");
            } else {
                assert_eq!(sent, ["PATCH plivo callCreationAllowAllAgents"], "{family}");
            }
        }
    }

    #[test]
    fn provider_family_creates_then_patches_only_what_changed_then_converges() {
        let api = FakeApi::new(4);
        let desired = desired_two("plivo-token-value", false);
        let first = plan_for(&api, &desired, Family::Provider, false);
        let applied = run(apply(&api, &first, &desired)).unwrap();
        assert_eq!(applied.written, [Provider::Twilio, Provider::Plivo].map(Subject::Provider));
        assert!(api.writes.borrow().is_empty(), "no account-level write");

        let changed = desired_two("plivo-token-value", true);
        api.log.borrow_mut().clear();
        let second = plan_for(&api, &changed, Family::Provider, false);
        run(apply(&api, &second, &changed)).unwrap();
        let log = api.log.borrow().clone();
        assert_eq!(&log[3..], ["PATCH twilio callCreationAllowedAgentIds"], "{log:?}");
        assert!(plan_for(&api, &changed, Family::Provider, false).is_empty());

        api.log.borrow_mut().clear();
        let rotated = plan_for(&api, &changed, Family::Provider, true);
        run(apply(&api, &rotated, &changed)).unwrap();
        assert_eq!(&api.log.borrow()[3..], ["PATCH twilio authToken", "PATCH plivo authToken"]);
    }

    #[test]
    fn a_lost_post_answer_is_read_again_and_not_repeated() {
        let api = FakeApi::new(4);
        *api.lose_post_answers.borrow_mut() = 1;
        let desired = desired_plivo("plivo-token-value");
        let plan = plan_for(&api, &desired, Family::Provider, false);
        api.log.borrow_mut().clear();
        let applied = run(apply(&api, &plan, &desired)).unwrap();
        assert_eq!(applied.written, vec![Subject::Provider(Provider::Plivo)]);
        assert_eq!(*api.log.borrow(), ["POST plivo", "wait", "GET plivo"], "present and matching: done");
    }

    #[test]
    fn a_create_is_at_most_four_posts_in_all_and_a_last_read_settles_it() {
        // Every POST answered 502 without landing: a wait and a read before each new POST, and after the fourth.
        let api = FakeApi::new(4);
        *api.fail_posts.borrow_mut() = 10;
        let desired = desired_plivo("plivo-token-value");
        let plan = plan_for(&api, &desired, Family::Provider, false);
        api.log.borrow_mut().clear();
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        assert_eq!(*api.log.borrow(), ["POST plivo", "wait", "GET plivo"].repeat(4));
        let text = err.to_string();
        assert!(text.contains("(gave up after 4 attempts, the most reconcile makes)"), "{text}");
        assert!(text.contains("plivo was read again after it and is absent: it was not created"), "{text}");
        assert!(!err.outcome_unknown(), "absent: it did not land");

        // Two lost answers, then one that lands: three POSTs in all, then done.
        let api = FakeApi::new(4);
        *api.fail_posts.borrow_mut() = 2;
        api.log.borrow_mut().clear();
        let applied = run(apply(&api, &plan, &desired)).unwrap();
        assert_eq!(applied.written, vec![Subject::Provider(Provider::Plivo)]);
        assert_eq!(
            *api.log.borrow(),
            ["POST plivo", "wait", "GET plivo", "POST plivo", "wait", "GET plivo", "POST plivo"]
        );
    }

    #[test]
    fn a_write_whose_answer_does_not_match_landed_and_is_counted_written() {
        let mut api = FakeApi::new(4);
        api.corrupt = true;
        let desired = desired_two("plivo-token-value", false);
        let plan = plan_for(&api, &desired, Family::Provider, false);
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("does not match the file afterwards"), "{text}");
        assert!(text.ends_with("\n  written: twilio; not written: plivo"), "{text}");
        assert_eq!(
            (err.written(), err.failed(), err.in_doubt()),
            (vec![Subject::Provider(Provider::Twilio)], vec![], vec![])
        );
        assert_eq!(err.not_written(), vec![Subject::Provider(Provider::Plivo)]);
    }

    #[test]
    fn the_time_budget_of_a_create_holds_across_its_rounds() {
        // No time left after the first round: no second POST, whatever the count allows.
        let mut api = FakeApi::new(4);
        api.budget = std::time::Duration::ZERO;
        *api.fail_posts.borrow_mut() = 10;
        let desired = desired_plivo("plivo-token-value");
        let plan = plan_for(&api, &desired, Family::Provider, false);
        api.log.borrow_mut().clear();
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        assert_eq!(*api.log.borrow(), ["POST plivo", "wait", "GET plivo"]);
        assert!(err.to_string().contains("gave up after 1 attempt: another would pass the 0s retry budget"), "{err}");
    }

    #[test]
    fn a_refusal_after_an_ambiguous_round_is_read_back_before_it_is_called_failed() {
        // The first POST's answer is lost; the read comes before it lands (absent), so the POST is sent again and
        // refused as a duplicate (400): read once more, the provider is there and matches: the create is done.
        let api = FakeApi::new(4);
        *api.fail_posts.borrow_mut() = 1;
        *api.land_late.borrow_mut() = true;
        let desired = desired_plivo("plivo-token-value");
        let plan = plan_for(&api, &desired, Family::Provider, false);
        api.log.borrow_mut().clear();
        let applied = run(apply(&api, &plan, &desired)).unwrap();
        assert_eq!(applied.written, vec![Subject::Provider(Provider::Plivo)]);
        assert_eq!(*api.log.borrow(), ["POST plivo", "wait", "GET plivo", "POST plivo", "GET plivo"]);

        // A refusal with nothing landed before it is the failure it says, after that one read.
        let api = FakeApi::new(4);
        *api.fail_posts.borrow_mut() = 1;
        api.refuse_after_first_post.set(true);
        api.log.borrow_mut().clear();
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        assert_eq!(*api.log.borrow(), ["POST plivo", "wait", "GET plivo", "POST plivo", "GET plivo"]);
        assert_eq!(err.failed(), vec![Subject::Provider(Provider::Plivo)]);
        assert!(err.to_string().contains("answered HTTP 400"), "{err}");
    }

    #[test]
    fn a_failed_request_stops_the_rest_and_names_what_was_written() {
        let mut api = FakeApi::new(4);
        api.stored.borrow_mut()[2] = Some((
            match desired_plivo("old-plivo-token").providers[2].clone() {
                Desired::Present(d) => d,
                _ => unreachable!(),
            },
            false,
        ));
        api.refuse = Some("PATCH");
        // twilio is created (POST), plivo updated (PATCH, refused).
        let desired = desired_two("plivo-token-value", false);
        let plan = plan_for(&api, &desired, Family::Provider, false);
        let err = run(apply(&api, &plan, &desired)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("written: twilio; failed: plivo; not written: none"), "{text}");
        api.refuse = None;
        let again = plan_for(&api, &desired, Family::Provider, false);
        assert_eq!(again.requests().len(), 1, "only what is left: {:?}", again.requests());
        run(apply(&api, &again, &desired)).unwrap();
        assert!(plan_for(&api, &desired, Family::Provider, false).is_empty());
    }
}
