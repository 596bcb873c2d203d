//! Saved plans (`plan --out PLANFILE`, `apply PLANFILE`): what was reviewed, and the evidence needed to refuse
//! applying it once anything has moved.
//!
//! A plan file holds no secret material: no values, no prefixes, and nothing from which either could be recovered.
//! The account's state is pinned by an HMAC-SHA256 of the whole remote config (prefixes included) keyed with the
//! API key: without the key it cannot be brute-forced back into short prefixes; with the key, the prefixes could be
//! read from the API anyway. The declaration file is pinned by its SHA-256 (it holds no secrets: literals are
//! refused). Secret values are pinned by their statuses in the plan itself.
//!
//! The plan as reviewed is saved as every document shows it: a value that holds a secret of the run is masked whole
//! ([`crate::shown`]; the SIP config's and the registrations' values, a registration's ID in a request's path
//! included). The plan's true values (the SIP settings' too) are pinned by `planFingerprint`, an HMAC-SHA256 of them
//! keyed with the API key as well, so a plan with a masked value applies exactly like any other, and one whose hidden
//! value moved is refused. The text is written as it was serialised, never rewritten.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::diff::{FieldChange, ProviderPlan, RegistrationPlan, SecretStatus, SipPlan};
use crate::endpoints::Family;
use crate::plan::{Plan, Request};
use crate::state::RemoteState;

/// The version of the plan file format; a file of another version is refused.
/// Version 2 added the endpoint family and the exact requests; version 3 masks values that hold a secret and pins the
/// plan's true values by `planFingerprint`.
pub const PLAN_FILE_VERSION: u32 = 3;

/// The content of a plan file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFile {
    pub plan_file_version: u32,
    /// The version of reconcile that wrote it (informative).
    pub reconcile_version: String,
    /// The declaration file, as given on the command line, and the SHA-256 of its text.
    pub file: String,
    pub file_sha256: String,
    /// The API root the plan was made against (no credentials).
    pub api_url: String,
    /// Whether the plan was made with `--rotate`.
    pub rotate: bool,
    /// HMAC-SHA256 of the account's whole telephony config, keyed with the API key.
    pub account_fingerprint: String,
    /// The plan as reviewed: statuses for secrets, before/after for the rest (a value holding a secret masked).
    pub providers: Vec<ProviderPlan>,
    /// HMAC-SHA256 of the plan's true values (agent lists as sets; the SIP config's and the registrations' too),
    /// keyed with the API key.
    pub plan_fingerprint: String,
    /// The endpoint family the plan was made for.
    pub endpoints: Family,
    /// The exact requests apply sends (method, path, field names), in order (a registration's ID masked where it
    /// holds a secret).
    pub requests: Vec<Request>,
    /// The SIP config's plan as reviewed, when the file manages it (a value holding a secret masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipPlan>,
    /// The registrations' plans as reviewed, when the file manages them (a value holding a secret masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_registrations: Option<Vec<RegistrationPlan>>,
}

impl PlanFile {
    /// What `plan --out` saves of one file's plan: the plan as reviewed (its family, options and requests), and
    /// what pins the file (`source`, its text) and the account (`remote`, keyed with `api_key`).
    pub fn new(
        plan: &Plan,
        file: &str,
        source: &str,
        api_url: &str,
        remote: &RemoteState,
        api_key: &SecretString,
    ) -> PlanFile {
        PlanFile {
            plan_file_version: PLAN_FILE_VERSION,
            reconcile_version: env!("CARGO_PKG_VERSION").to_string(),
            file: file.to_string(),
            file_sha256: file_digest(source),
            api_url: api_url.to_string(),
            rotate: plan.options().rotate,
            account_fingerprint: account_fingerprint(remote, api_key),
            providers: crate::shown::providers(plan.providers()),
            plan_fingerprint: plan_fingerprint(plan, api_key),
            endpoints: plan.family(),
            requests: crate::shown::requests(plan.requests()),
            sip: plan.sip().map(crate::shown::sip),
            sip_registrations: plan.registrations().map(crate::shown::registrations),
        }
    }
}

/// A plan saved from several files: each file's plan, in file order. `apply` checks every one before it sends
/// anything, and refuses the whole when any has moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeveralPlanFile {
    pub plan_file_version: u32,
    pub reconcile_version: String,
    pub files: Vec<PlanFile>,
}

/// Why a plan file cannot be applied. Nothing is written in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaleError {
    #[error("cannot read plan file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not a reconcile plan file: {reason}")]
    NotAPlan { path: String, reason: String },
    #[error(
        "plan file {path} has format version {found}, but this reconcile ({ours}) reads version {PLAN_FILE_VERSION}; it was made by an incompatible version"
    )]
    Incompatible { path: String, found: String, ours: String },
    #[error("the plan was made from {planned}, but -f names {given}")]
    OtherFile { planned: String, given: String },
    #[error("{file} changed since the plan was made")]
    FileChanged { file: String },
    #[error("the plan was made against {planned}, not {now}")]
    OtherApi { planned: String, now: String },
    #[error("the account's telephony config changed since the plan was made (a rotated secret's prefix counts)")]
    AccountChanged,
    #[error("since the plan was made, {}", changes.join("; "))]
    SecretsChanged { changes: Vec<String> },
    #[error("the plan was made for --endpoints {planned}, but --endpoints {given} was given")]
    OtherFamily { planned: Family, given: Family },
    #[error("the requests apply would send differ from the ones the plan lists")]
    RequestsChanged,
}

impl StaleError {
    pub fn hint(&self) -> String {
        match self {
            StaleError::Unreadable { .. } | StaleError::NotAPlan { .. } => {
                "pass the file written by `reconcile plan --out PLANFILE`".into()
            }
            StaleError::OtherFile { .. } => "drop -f: apply re-reads the file the plan names".into(),
            StaleError::OtherFamily { planned, .. } => format!(
                "drop --endpoints (and RECONCILE_ENDPOINTS) to apply through the plan's family ({planned}), or make \
                 a new plan with the family you want"
            ),
            _ => "make a new plan (`reconcile plan --out PLANFILE`), review it, and apply that one".into(),
        }
    }
}

/// SHA-256 of a declaration file's text, in hex.
pub fn file_digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// HMAC-SHA256 of the whole remote state keyed with the API key, in hex. The key is exposed only to the MAC.
pub fn account_fingerprint(remote: &RemoteState, api_key: &SecretString) -> String {
    keyed(api_key, b"", &canonical_remote(remote))
}

/// HMAC-SHA256 of a plan's true values (agent lists, CIDR ranges and allowances sorted: they are sets), keyed with
/// the API key, in hex: it pins what the saved plan shows masked without holding anything it could be read back
/// from. The SIP config's and the registrations' plans count when the file manages them (a registration without its
/// `successful`, which the API updates on its own); a plan without them is pinned exactly as before they existed.
pub fn plan_fingerprint(plan: &Plan, api_key: &SecretString) -> String {
    #[derive(Serialize)]
    struct WithSip {
        providers: Vec<ProviderPlan>,
        sip: Option<SipPlan>,
        registrations: Option<Vec<RegistrationPlan>>,
    }
    let providers = normalized(plan.providers());
    let canonical = if plan.sip().is_none() && plan.registrations().is_none() {
        serde_json::to_string(&providers)
    } else {
        serde_json::to_string(&WithSip {
            providers,
            sip: normalized_sip(plan.sip()),
            registrations: normalized_registrations(plan.registrations()),
        })
    };
    keyed(api_key, b"reconcile plan\0", &canonical.expect("a plan is plain data"))
}

fn keyed(api_key: &SecretString, domain: &[u8], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.expose_secret().as_bytes())
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(domain);
    mac.update(text.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn canonical_remote(remote: &RemoteState) -> String {
    let mut top = Map::new();
    for (i, slot) in remote.providers.iter().enumerate() {
        let key = crate::provider::Provider::ALL[i].key().to_string();
        let value = match slot {
            None => Value::Null,
            Some(p) => json!({
                "identifiers": p.identifiers,
                "prefixes": p.prefixes.iter().map(|(f, v)| (f.clone(), v.as_ref().map(|p| p.expose().to_string()))).collect::<std::collections::BTreeMap<_, _>>(),
                // A set: the API may list the same agents in another order.
                "agents": p.settings.allowed_agent_ids.iter().map(|id| id.to_lowercase()).collect::<std::collections::BTreeSet<_>>(),
                "allowAll": p.settings.allow_all_agents,
                "mapping": p.settings.request_context_mapping,
            }),
        };
        top.insert(key, value);
    }
    // Only what the file manages was read; a config that was not read adds nothing (and so a plan of a file without
    // SIP pins exactly what it always did).
    if let Some(sip) = &remote.sip {
        let set = |items: Vec<String>| items.into_iter().collect::<std::collections::BTreeSet<_>>();
        top.insert(
            crate::sip::SIP.into(),
            json!({
                "ranges": set(sip.allowed_cidr_ranges.clone()),
                "allowAll": sip.allow_all_agents,
                "agents": set(sip.allowed_agents.iter().map(crate::sip::Allowance::shown).collect()),
                // The secrets whole, under the HMAC keyed with the API key: a secret rotated by hand moves it.
                "fallback": sip.fallback.as_ref().map(|f| json!({
                    "url": f.url,
                    "secrets": set(f.secrets.iter().map(|s| s.expose().to_string()).collect()),
                })),
                "domain": sip.domain,
            }),
        );
    }
    if let Some(registrations) = &remote.registrations {
        // Not `successful`: the API updates it on its own, and apply changes nothing about it.
        let mut listed: Vec<Value> = registrations
            .iter()
            .map(|r| {
                json!({"id": r.id, "username": r.key.username, "proxy": r.key.proxy,
                    "outboundProxy": r.outbound_proxy, "authUser": r.auth_user})
            })
            .collect();
        listed.sort_by_key(Value::to_string);
        top.insert(crate::sip::REGISTRATIONS.into(), Value::Array(listed));
    }
    Value::Object(top).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a plan file through the one atomic writer ([`crate::files::write_atomic`]): a reader never sees half a
/// plan, a link is never followed or replaced, and none of `protected` (the declaration files, secret files) is
/// overwritten.
pub fn write(
    path: &Path,
    plan: &impl Serialize,
    protected: &[(PathBuf, String)],
) -> Result<(), crate::files::WriteError> {
    let text = crate::clean::to_json_pretty(plan).expect("a plan file is plain data") + "\n";
    crate::files::write_atomic(path, &text, true, protected)
}

/// Saves the plans of a run: one file's as a [`PlanFile`], several as a [`SeveralPlanFile`].
pub fn write_all(
    path: &Path,
    mut plans: Vec<PlanFile>,
    protected: &[(PathBuf, String)],
) -> Result<(), crate::files::WriteError> {
    if plans.len() == 1 {
        let one = plans.remove(0);
        return write(path, &one, protected);
    }
    let several = SeveralPlanFile {
        plan_file_version: PLAN_FILE_VERSION,
        reconcile_version: env!("CARGO_PKG_VERSION").to_string(),
        files: plans,
    };
    write(path, &several, protected)
}

/// The largest plan file read: a file's plan takes a few kilobytes, so this holds thousands of files.
pub const MAX_PLAN_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a plan file, refusing another format version before anything else: each file's plan, in file order.
pub fn read(path: &Path) -> Result<Vec<PlanFile>, StaleError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| StaleError::Unreadable { path: shown.clone(), reason };
    // A regular file only (a FIFO would make the run wait for a writer), never read past the cap.
    let bytes = crate::files::read_regular(path, MAX_PLAN_FILE_BYTES).map_err(|e| unreadable(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| StaleError::NotAPlan { path: shown.clone(), reason: format!("not JSON ({e})") })?;
    let version = value.get("planFileVersion");
    match version.and_then(Value::as_u64) {
        Some(v) if v == u64::from(PLAN_FILE_VERSION) => {}
        Some(_) => {
            return Err(StaleError::Incompatible {
                path: shown,
                found: version.map(Value::to_string).unwrap_or_default(),
                ours: env!("CARGO_PKG_VERSION").to_string(),
            });
        }
        None => {
            return Err(StaleError::NotAPlan { path: shown, reason: "it has no planFileVersion".into() });
        }
    }
    let not_a_plan = |e: serde_json::Error| StaleError::NotAPlan { path: shown.clone(), reason: e.to_string() };
    if value.get("files").is_some() {
        let several: SeveralPlanFile = serde_json::from_value(value).map_err(not_a_plan)?;
        if several.files.is_empty() {
            return Err(StaleError::NotAPlan { path: shown, reason: "it covers no file".into() });
        }
        return Ok(several.files);
    }
    Ok(vec![serde_json::from_value(value).map_err(not_a_plan)?])
}

/// Compares the saved plan with the one made now from the same file and account (pinned by its fingerprint, so that a
/// masked value counts exactly): a difference comes from a secret whose resolved value moved, or from a value a
/// reference or an agent's name gave, so the message names the secrets and their statuses then and now (a provider's,
/// the fallback handler's), or says what else differs.
pub fn compare_plans(saved: &PlanFile, now: &Plan, api_key: &SecretString) -> Result<(), StaleError> {
    if plan_fingerprint(now, api_key) == saved.plan_fingerprint {
        return Ok(());
    }
    let now_shown = crate::shown::providers(now.providers());
    let mut changes = Vec::new();
    for (then, current) in saved.providers.iter().zip(&now_shown) {
        let status_of = |pp: &ProviderPlan, field: &str| {
            pp.changes.iter().find_map(|c| match c {
                FieldChange::Secret { field: f, status } if f == field => Some(*status),
                _ => None,
            })
        };
        for change in &current.changes {
            if let FieldChange::Secret { field, status } = change {
                let before = status_word(status_of(then, field));
                let after = status_word(Some(*status));
                if before != after {
                    changes.push(format!("{}.{field} went from {before} to {after}", current.provider));
                }
            }
        }
        if changes.is_empty() && normalized(std::slice::from_ref(then)) != normalized(std::slice::from_ref(current)) {
            changes.push(format!("the plan for {} is different", current.provider));
        }
    }
    if saved.providers.len() != now_shown.len() {
        changes.push("the plan is different".into());
    }
    if let Some(change) = sip_change(saved, now) {
        changes.push(change);
    }
    if changes.is_empty() {
        changes.push("a value the plan shows hidden (it holds part of a secret) is not the same".into());
    }
    Err(StaleError::SecretsChanged { changes })
}

/// What differs between the saved plan's SIP settings and the ones made now, as shown (their lists as sets, without
/// a registration's `successful`): the fallback handler's secrets, named with their statuses then and now, or the SIP
/// settings as a whole; `None` when they are shown the same.
fn sip_change(saved: &PlanFile, now: &Plan) -> Option<String> {
    let now_sip = now.sip().map(crate::shown::sip);
    let now_registrations = now.registrations().map(crate::shown::registrations);
    let same_sip = normalized_sip(saved.sip.as_ref()) == normalized_sip(now_sip.as_ref());
    let same_registrations = normalized_registrations(saved.sip_registrations.as_deref())
        == normalized_registrations(now_registrations.as_deref());
    if same_sip && same_registrations {
        return None;
    }
    let status = |plan: Option<&SipPlan>| {
        plan.and_then(|p| {
            p.changes.iter().find_map(|c| match c {
                FieldChange::Secret { field, status } if field == crate::sip::FALLBACK_SECRETS => Some(*status),
                _ => None,
            })
        })
    };
    let (then, current) = (status(saved.sip.as_ref()), status(now_sip.as_ref()));
    Some(if !same_sip && then != current {
        format!("sip.{} went from {} to {}", crate::sip::FALLBACK_SECRETS, status_word(then), status_word(current))
    } else {
        "the plan for the SIP settings is different".to_string()
    })
}

/// The plans with their agent lists sorted: lists are sets, and the API may order them differently from one answer
/// to the next.
fn normalized(providers: &[ProviderPlan]) -> Vec<ProviderPlan> {
    let mut providers = providers.to_vec();
    providers.iter_mut().for_each(|p| sort_lists(&mut p.changes));
    providers
}

/// The SIP config's plan with its lists (ranges, allowances) sorted.
fn normalized_sip(plan: Option<&SipPlan>) -> Option<SipPlan> {
    plan.cloned().map(|mut p| {
        sort_lists(&mut p.changes);
        p
    })
}

/// The registrations' plans without `successful`: the API updates it on its own, and apply changes nothing about it.
fn normalized_registrations(plans: Option<&[RegistrationPlan]>) -> Option<Vec<RegistrationPlan>> {
    plans.map(|plans| plans.iter().cloned().map(|p| RegistrationPlan { successful: None, ..p }).collect())
}

fn sort_lists(changes: &mut [FieldChange]) {
    for change in changes {
        if let FieldChange::Value { before, after, .. } = change {
            for list in [before, after].into_iter().flatten() {
                if let crate::diff::Value::List(items) = list {
                    items.sort();
                }
            }
        }
    }
}

fn status_word(status: Option<SecretStatus>) -> String {
    status.map_or_else(|| "not in the plan".to_string(), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use crate::state::{RemotePrefix, RemoteProvider, Settings};

    fn remote(prefix: &str) -> RemoteState {
        let mut state = RemoteState::default();
        state.providers[0] = Some(RemoteProvider {
            provider: Provider::Twilio,
            identifiers: [("accountSid".to_string(), "AC1".to_string())].into(),
            prefixes: [("authToken".to_string(), Some(RemotePrefix::new(prefix.to_string())))].into(),
            settings: Settings::default(),
        });
        state
    }

    #[test]
    fn fingerprint_moves_with_a_prefix_and_the_key_but_does_not_contain_either() {
        let key = SecretString::from("api-key-1".to_string());
        let a = account_fingerprint(&remote("abcd"), &key);
        assert_eq!(a, account_fingerprint(&remote("abcd"), &key));
        assert_ne!(a, account_fingerprint(&remote("abce"), &key));
        assert_ne!(a, account_fingerprint(&remote("abcd"), &SecretString::from("api-key-2".to_string())));
        assert_eq!(a.len(), 64);
        // Without the key, a plain hash of the canonical state (which a short prefix could be brute-forced from)
        // is not what is stored.
        assert_ne!(a, hex(&Sha256::digest(canonical_remote(&remote("abcd")).as_bytes())));
    }

    #[test]
    fn agent_order_does_not_move_the_fingerprint() {
        let key = SecretString::from("k".to_string());
        let mut a = remote("abcd");
        let mut b = remote("abcd");
        if let Some(p) = a.providers[0].as_mut() {
            p.settings.allowed_agent_ids = vec!["x".into(), "y".into()];
        }
        if let Some(p) = b.providers[0].as_mut() {
            p.settings.allowed_agent_ids = vec!["y".into(), "x".into()];
        }
        assert_eq!(account_fingerprint(&a, &key), account_fingerprint(&b, &key));
    }

    fn plan_with_sid(sid: &str, agents: &[&str]) -> Plan {
        use crate::state::{Desired, DesiredProvider, DesiredState};
        let desired = DesiredState {
            providers: [
                Desired::Present(DesiredProvider {
                    provider: Provider::Twilio,
                    identifiers: vec![("accountSid", sid.to_string())],
                    secrets: vec![("authToken", SecretString::from("abcd-token-value".to_string()))],
                    settings: Settings {
                        allowed_agent_ids: agents.iter().map(|a| a.to_string()).collect(),
                        ..Settings::default()
                    },
                }),
                Desired::Unmanaged,
                Desired::Unmanaged,
            ],
            ..DesiredState::default()
        };
        Plan::new(&desired, &remote("abcd"), Family::Auto, crate::diff::PlanOptions::default())
    }

    #[test]
    fn a_masked_value_is_saved_masked_and_pinned_by_the_plan_fingerprint() {
        crate::redact::register_secret(&SecretString::from("pl4nf1le-secret-X".to_string()));
        let key = SecretString::from("api-key-1".to_string());
        let plan = plan_with_sid("AC-pl4nf1le-secret-X", &["b", "a"]);
        let saved = PlanFile::new(&plan, "telephony.yaml", "text", "http://x", &remote("abcd"), &key);
        let text = crate::clean::to_json_pretty(&saved).unwrap();
        assert!(text.contains(&format!("\"after\": \"{}\"", crate::redact::HIDDEN)), "{text}");
        assert!(!text.contains("pl4nf1le"), "{text}");
        let read: PlanFile = serde_json::from_str(&text).unwrap();
        // The same plan (its agents listed in another order) is the plan saved; another value behind the mask is not.
        assert_eq!(compare_plans(&read, &plan_with_sid("AC-pl4nf1le-secret-X", &["a", "b"]), &key), Ok(()));
        let moved = compare_plans(&read, &plan_with_sid("AC-pl4nf1le-secret-XY", &["a", "b"]), &key).unwrap_err();
        assert_eq!(
            moved.to_string(),
            "since the plan was made, a value the plan shows hidden (it holds part of a secret) is not the same"
        );
        let shown = compare_plans(&read, &plan_with_sid("AC-other", &["a", "b"]), &key).unwrap_err();
        assert_eq!(shown.to_string(), "since the plan was made, the plan for twilio is different");
        // Keyed: another API key gives another fingerprint.
        assert_ne!(plan_fingerprint(&plan, &key), plan_fingerprint(&plan, &SecretString::from("k2".to_string())));
    }

    /// A plan of a SIP config whose fallback URL is `url`, and a registration to delete whose proxy is `proxy`.
    fn sip_plan(url: &str, proxy: &str) -> Plan {
        sip_plan_with(url, proxy, Some(true))
    }

    fn sip_plan_with(url: &str, proxy: &str, successful: Option<bool>) -> Plan {
        use crate::sip::RegistrationKey;
        use crate::state::{DesiredFallback, DesiredSip, DesiredState, RemoteRegistration, RemoteSip};
        let desired = DesiredState {
            sip: Some(DesiredSip {
                allowed_cidr_ranges: vec!["10.0.0.0/8".into(), "192.0.2.0/24".into()],
                allow_all_agents: false,
                allowed_agents: Vec::new(),
                fallback: Some(DesiredFallback { url: url.into(), secrets: None }),
            }),
            registrations: Some(Vec::new()),
            ..DesiredState::default()
        };
        let remote = RemoteState {
            sip: Some(RemoteSip::default()),
            registrations: Some(vec![RemoteRegistration {
                id: "reg-1".into(),
                key: RegistrationKey::new("alice", proxy),
                outbound_proxy: None,
                auth_user: None,
                successful,
            }]),
            ..RemoteState::default()
        };
        Plan::new(&desired, &remote, Family::Auto, crate::diff::PlanOptions::default())
    }

    #[test]
    fn the_sip_settings_are_saved_masked_and_pinned_by_the_plan_fingerprint() {
        crate::redact::register_secret(&SecretString::from("s1pF1le-secret-Q".to_string()));
        let key = SecretString::from("api-key-1".to_string());
        let url = "https://h.example.com/s1pF1le-secret-Q";
        let plan = sip_plan(url, "s1pF1le-secret-Q.example.com");
        let saved = PlanFile::new(&plan, "telephony.yaml", "text", "http://x", &RemoteState::default(), &key);
        let text = crate::clean::to_json_pretty(&saved).unwrap();
        assert!(!text.contains("s1pF1le"), "{text}");
        assert_eq!(saved.sip_registrations.as_ref().unwrap()[0].proxy, crate::redact::HIDDEN);
        let read: PlanFile = serde_json::from_str(&text).unwrap();
        assert_eq!(compare_plans(&read, &plan, &key), Ok(()), "the plan saved applies");
        let hidden = compare_plans(&read, &sip_plan(&format!("{url}2"), "s1pF1le-secret-Q.example.com"), &key);
        assert_eq!(
            hidden.unwrap_err().to_string(),
            "since the plan was made, a value the plan shows hidden (it holds part of a secret) is not the same"
        );
        let shown = compare_plans(&read, &sip_plan(url, "other.example.com"), &key).unwrap_err();
        assert_eq!(shown.to_string(), "since the plan was made, the plan for the SIP settings is different");
        // A registration's status is not part of the plan saved: the API updates it on its own.
        let flipped = sip_plan_with(url, "s1pF1le-secret-Q.example.com", Some(false));
        assert_eq!(plan_fingerprint(&flipped, &key), plan_fingerprint(&plan, &key));
        // A plan without SIP settings is pinned as before they existed.
        let providers_only = plan_with_sid("AC1", &[]);
        let canonical = serde_json::to_string(&normalized(providers_only.providers())).unwrap();
        assert_eq!(plan_fingerprint(&providers_only, &key), keyed(&key, b"reconcile plan\0", &canonical));
    }

    #[test]
    fn another_version_is_refused_before_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, r#"{"planFileVersion": 1, "whatever": true}"#).unwrap();
        assert!(matches!(read(&path), Err(StaleError::Incompatible { .. })));
        std::fs::write(&path, r#"{"formatVersion": 1}"#).unwrap();
        assert!(matches!(read(&path), Err(StaleError::NotAPlan { .. })));
    }
}
