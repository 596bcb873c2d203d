//! `sip` (the account's SIP config: CIDR ranges, agent allowances, the fallback handler) and `sipRegistrations`
//! (the username/password pairs the account registers with SIP trunks), with the API's limits.

use std::collections::HashMap;

use super::references::reference_hint;
use super::{Validator, join};
use crate::config::diagnostic::Code;
use crate::config::model::{AgentEntry, AllowanceSpec, FallbackSpec, Located, RegistrationSpec, SipSpec};
use crate::config::node::{Loc, Node, NodeKind};
use crate::secret::Reference;
use crate::sip::{self, RegistrationKey};

/// The keys of `sip:` (`domain` is known, to say that it is read-only).
const SIP_KEYS: [&str; 5] = [sip::CIDR_RANGES, sip::ALLOW_ALL_AGENTS, sip::ALLOWED_AGENTS, sip::FALLBACK, sip::DOMAIN];
const ALLOWANCE_KEYS: [&str; 2] = [sip::AGENT_ID, sip::TO_USER_PATTERN];
const FALLBACK_KEYS: [&str; 2] = [sip::URL, sip::SECRETS];

impl Validator {
    /// `sip:`: a mapping (it cannot be deleted); `None` when it has a problem (reported).
    pub(super) fn sip(&mut self, node: &Node) -> Option<SipSpec> {
        let path = sip::SIP;
        let entries = match &node.kind {
            NodeKind::Map(entries) => entries,
            NodeKind::Null => {
                self.report(
                    Code::SipNotDeletable,
                    node.loc,
                    path,
                    "the account's SIP config cannot be deleted: `sip` takes its settings, not null",
                    "write the settings under `sip:` (`allowedCidrRanges: []` and no other field is the API's default: \
                     no calls accepted), or leave `sip` out of the file to leave the account's SIP config as it is",
                );
                return None;
            }
            other => {
                self.sensitive_all(node);
                self.report(
                    Code::WrongType,
                    node.loc,
                    path,
                    format!("expected a mapping of SIP settings, found {}", other.describe()),
                    "write `allowedCidrRanges`, `allowAllAgents`, `allowedAgents` and `fallbackHandler` under `sip:`",
                );
                return None;
            }
        };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &SIP_KEYS);
        if let Some((key, _)) = found.get(sip::DOMAIN) {
            self.report(
                Code::UnknownKey,
                key.loc,
                join(path, sip::DOMAIN),
                "`domain` is read-only: the API sets it",
                "remove it; the plan shows the account's SIP domain (and `reconcile import` writes it as a comment)",
            );
        }
        let ranges = match found.get(sip::CIDR_RANGES) {
            Some((_, node)) => self.cidr_ranges(&join(path, sip::CIDR_RANGES), node),
            None => Some(Vec::new()),
        };
        let allow_all = match found.get(sip::ALLOW_ALL_AGENTS) {
            Some((_, node)) => self.flag(&join(path, sip::ALLOW_ALL_AGENTS), node),
            None => Some(false),
        };
        let allowances = match found.get(sip::ALLOWED_AGENTS) {
            Some((_, node)) => self.allowances(&join(path, sip::ALLOWED_AGENTS), node),
            None => Some(Vec::new()),
        };
        let fallback = match found.get(sip::FALLBACK) {
            Some((_, node)) => self.fallback(&join(path, sip::FALLBACK), node),
            None => Some(None),
        };
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        Some(SipSpec {
            allowed_cidr_ranges: ranges?,
            allow_all_agents: allow_all?,
            allowed_agents: allowances?,
            fallback: fallback?,
        })
    }

    /// `allowedCidrRanges`: IPv4 networks with no host bits, each once.
    fn cidr_ranges(&mut self, path: &str, node: &Node) -> Option<Vec<String>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.report(
                Code::WrongType,
                node.loc,
                path,
                format!("expected a list of IPv4 ranges, found {}", node.kind.describe()),
                "write a YAML list, e.g. `allowedCidrRanges: [203.0.113.0/24]`; leaving it out means none",
            );
            return None;
        };
        let before = self.invalid.diagnostics.len();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let NodeKind::Str(text) = &item.kind else {
                let message = format!("expected an IPv4 range (a string), found {}", item.kind.describe());
                self.report(Code::WrongType, item.loc, &item_path, message, "e.g. `203.0.113.0/24`");
                continue;
            };
            let network = match sip::parse_cidr(text) {
                Ok(network) => network,
                Err(e) => {
                    let hint = match &e.meant {
                        Some(network) => format!(
                            "write `{network}` for the whole network, or the address with `/32` for that one address"
                        ),
                        None => "write an IPv4 network as ADDRESS/BITS, e.g. `203.0.113.0/24` (`/32` for one address)"
                            .to_string(),
                    };
                    let message = crate::clean::printable(&e.message).into_owned();
                    self.report(Code::InvalidCidr, item.loc, &item_path, message, hint);
                    continue;
                }
            };
            if let Some(first) = seen.get(&network) {
                let hint = format!("it is already listed at line {}; remove one", first.line);
                self.report(Code::DuplicateCidr, item.loc, &item_path, format!("{network} is listed twice"), hint);
                continue;
            }
            seen.insert(network.clone(), item.loc);
            out.push(network);
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    /// A `true`/`false` flag.
    fn flag(&mut self, path: &str, node: &Node) -> Option<bool> {
        if let NodeKind::Bool(b) = node.kind {
            return Some(b);
        }
        let hint = match &node.kind {
            NodeKind::Str(s) if ["yes", "no", "on", "off", "y", "n"].contains(&s.to_lowercase().as_str()) => {
                format!("YAML 1.2 reads `{s}` as a string: write `true` or `false`")
            }
            _ => "write `true` or `false` without quotes; leaving it out means false".to_string(),
        };
        let message = format!("expected true or false, found {}", node.kind.describe());
        self.report(Code::WrongType, node.loc, path, message, hint);
        None
    }

    /// `allowedAgents`: at most the API's number of `{ agentId, toUserPattern }`, none twice.
    fn allowances(&mut self, path: &str, node: &Node) -> Option<Vec<Located<AllowanceSpec>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.report(
                Code::WrongType,
                node.loc,
                path,
                format!("expected a list of agent allowances, found {}", node.kind.describe()),
                "write a YAML list of `- agentId: <uuid>` entries (each with an optional `toUserPattern`); leaving it \
                 out means none",
            );
            return None;
        };
        let before = self.invalid.diagnostics.len();
        if items.len() > sip::MAX_ALLOWANCES {
            self.report(
                Code::OverLimit,
                node.loc,
                path,
                format!("lists {} allowances; the API accepts at most {}", items.len(), sip::MAX_ALLOWANCES),
                "set allowAllAgents to true to accept every agent at its default address, or trim the list",
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some((label, allowance)) = self.allowance(&item_path, item) else { continue };
            let identity = match &allowance.agent {
                AgentEntry::Id(id) => {
                    let normal = sip::Allowance::new(id, allowance.to_user_pattern.as_deref());
                    format!("{}|{}", normal.agent_id, normal.to_user_pattern.unwrap_or_default())
                }
                AgentEntry::Name(name) => {
                    format!("name:{name}|{}", allowance.to_user_pattern.clone().unwrap_or_default())
                }
            };
            if let Some(first) = seen.get(&identity) {
                let hint =
                    format!("it is already listed at line {} with the same toUserPattern; remove one", first.line);
                self.report(
                    Code::DuplicateAgent,
                    item.loc,
                    &item_path,
                    format!("duplicate allowance for {label}"),
                    hint,
                );
                continue;
            }
            seen.insert(identity, item.loc);
            out.push(Located { value: allowance, loc: Some(item.loc), path: item_path });
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    /// One allowance: `agentId` (an ID or `{ agent: NAME }`) and an optional `toUserPattern`.
    fn allowance(&mut self, path: &str, item: &Node) -> Option<(String, AllowanceSpec)> {
        let NodeKind::Map(entries) = &item.kind else {
            self.report(
                Code::WrongType,
                item.loc,
                path,
                format!("expected an allowance (a mapping with `agentId`), found {}", item.kind.describe()),
                "write `- agentId: <uuid>` (or `- agentId: { agent: NAME }`), with an optional `toUserPattern`",
            );
            return None;
        };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &ALLOWANCE_KEYS);
        let hint = "name the agent this allowance lets calls reach: `agentId: <uuid>` or `agentId: { agent: NAME }`";
        let agent = self
            .required(&found, item.loc, path, sip::AGENT_ID, hint)
            .and_then(|node| self.agent_entry(&join(path, sip::AGENT_ID), node));
        let pattern = match found.get(sip::TO_USER_PATTERN) {
            Some((_, node)) => self.pattern(&join(path, sip::TO_USER_PATTERN), node),
            None => Some(None),
        };
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        let (label, agent) = agent?;
        Some((label, AllowanceSpec { agent, to_user_pattern: pattern? }))
    }

    /// `toUserPattern`: a pattern of at most the API's length; `None` when absent.
    fn pattern(&mut self, path: &str, node: &Node) -> Option<Option<String>> {
        let hint = "a regular expression for the user part of the SIP address, e.g. \"^sales$\"; leave it out for the \
                    default, ^agent_<agentId>$";
        self.text(path, node, Some(sip::MAX_PATTERN_CHARS), hint).map(Some)
    }

    /// `fallbackHandler`: `null` for none, or `{ url, secrets }`.
    fn fallback(&mut self, path: &str, node: &Node) -> Option<Option<FallbackSpec>> {
        let entries = match &node.kind {
            NodeKind::Null => return Some(None),
            NodeKind::Map(entries) => entries,
            other => {
                self.sensitive_all(node);
                self.report(
                    Code::WrongType,
                    node.loc,
                    path,
                    format!("expected a mapping with `url` (or null for none), found {}", other.describe()),
                    "write `fallbackHandler: { url: https://..., secrets: [{ env: SIP_FALLBACK_SECRET }] }`, or \
                     `fallbackHandler: null` for none",
                );
                return None;
            }
        };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &FALLBACK_KEYS);
        let hint =
            "the fallback handler is a webhook: write its `url` (https://...), or `fallbackHandler: null` for none";
        let url =
            self.required(&found, node.loc, path, sip::URL, hint).and_then(|url| self.url(&join(path, sip::URL), url));
        let secrets = match found.get(sip::SECRETS) {
            Some((_, node)) => self.fallback_secrets(&join(path, sip::SECRETS), node).map(Some),
            None => Some(None),
        };
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        Some(Some(FallbackSpec { url: url?, secrets: secrets? }))
    }

    /// The fallback handler's URL: https, or http to a loopback host.
    fn url(&mut self, path: &str, node: &Node) -> Option<String> {
        let url = self.text(path, node, None, "write the webhook's address, e.g. https://hooks.example.com/sip")?;
        match sip::check_url(&url) {
            Ok(()) => Some(url),
            Err(reason) => {
                let message = crate::clean::printable(&reason).into_owned();
                let hint = "the API calls the fallback handler with calls' details: give an https:// URL (http:// only \
                            to localhost, for a local test)";
                self.report(Code::InvalidUrl, node.loc, path, message, hint);
                None
            }
        }
    }

    /// `fallbackHandler.secrets`: 1 to the API's number of references (never values).
    fn fallback_secrets(&mut self, path: &str, node: &Node) -> Option<Vec<Located<Reference>>> {
        let keep = "leave `secrets` out to keep the secrets the account has (the API generates one for a new handler)";
        let items = match &node.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => {
                let hint = format!("{keep}, or list 1 to {} references", sip::MAX_FALLBACK_SECRETS);
                self.report(Code::EmptyValue, node.loc, path, "has no value", hint);
                return None;
            }
            NodeKind::Map(_) => {
                self.report(
                    Code::WrongType,
                    node.loc,
                    path,
                    "expected a list of references, found a mapping",
                    "`secrets` is a list: write `secrets: [{ env: SIP_FALLBACK_SECRET }]`",
                );
                return None;
            }
            _ => {
                self.sensitive_all(node);
                let message = "is a literal secret; secrets must be references so that they never live in git";
                let hint = "write `secrets: [{ env: SIP_FALLBACK_SECRET }]` and set SIP_FALLBACK_SECRET, or a \
                            `{ file: PATH }` reference to a file kept out of git";
                self.report(Code::LiteralSecret, node.loc, path, message, hint);
                return None;
            }
        };
        if items.is_empty() {
            let hint = format!("{keep}; the API takes 1 to {} secrets", sip::MAX_FALLBACK_SECRETS);
            self.report(Code::EmptyValue, node.loc, path, "lists no secret", hint);
            return None;
        }
        let before = self.invalid.diagnostics.len();
        if items.len() > sip::MAX_FALLBACK_SECRETS {
            self.report(
                Code::OverLimit,
                node.loc,
                path,
                format!("lists {} secrets; the API accepts at most {}", items.len(), sip::MAX_FALLBACK_SECRETS),
                "keep the secret the webhook verifies with now and the one it moves to; drop the rest",
            );
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let env = sip::fallback_secret_env(i);
            let hint = || {
                format!("write `- {{ env: {env} }}` and set {env}, or `- {{ file: PATH }}` with a file kept out of git")
            };
            if let Some(reference) = self.secret_hinted(&item_path, item, hint) {
                out.push(reference);
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    /// `sipRegistrations:`: the complete list (`[]` for none), each registration once.
    pub(super) fn registrations(&mut self, node: &Node) -> Option<Vec<Located<RegistrationSpec>>> {
        let path = sip::REGISTRATIONS;
        let items = match &node.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => {
                self.report(
                    Code::EmptyValue,
                    node.loc,
                    path,
                    "has no value",
                    "list the registrations (`- username: ...`), or write `sipRegistrations: []` to require that the \
                     account has none; leave the key out to leave them as they are",
                );
                return None;
            }
            other => {
                self.sensitive_all(node);
                self.report(
                    Code::WrongType,
                    node.loc,
                    path,
                    format!("expected a list of registrations, found {}", other.describe()),
                    "write a YAML list: `- username: alice` with `proxy`, `password` (a reference) and, if needed, \
                     `outboundProxy` and `authUser`",
                );
                return None;
            }
        };
        let before = self.invalid.diagnostics.len();
        let mut seen: HashMap<RegistrationKey, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            // The identity is checked even when another field of the entry has a problem.
            let (key, registration) = self.registration(&item_path, item);
            let Some(key) = key else { continue };
            if let Some(first) = seen.get(&key) {
                let shown = crate::clean::printable(&key.to_string()).into_owned();
                let hint = format!(
                    "it is already listed at line {}; a registration is identified by its username and proxy together: \
                     keep one",
                    first.line
                );
                self.report(
                    Code::DuplicateRegistration,
                    item.loc,
                    &item_path,
                    format!("{shown} is listed twice"),
                    hint,
                );
                continue;
            }
            seen.insert(key, item.loc);
            if let Some(registration) = registration {
                out.push(Located { value: registration, loc: Some(item.loc), path: item_path });
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    /// One registration: `username`, `proxy` and `password` required, `outboundProxy` and `authUser` optional. Its
    /// identity when `username` and `proxy` are valid, and the registration when all of it is.
    fn registration(&mut self, path: &str, item: &Node) -> (Option<RegistrationKey>, Option<RegistrationSpec>) {
        let NodeKind::Map(entries) = &item.kind else {
            self.sensitive_all(item);
            self.report(
                Code::WrongType,
                item.loc,
                path,
                format!("expected a registration (a mapping), found {}", item.kind.describe()),
                "write `- username: alice` with `proxy` and `password: { env: SIP_ALICE_PASSWORD }` beneath",
            );
            return (None, None);
        };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &sip::REGISTRATION_FIELDS);
        let required = |v: &mut Validator, field: &'static str, hint: &str| {
            let missing = format!("the API requires {field} for a SIP registration; add it");
            let node = v.required(&found, item.loc, path, field, missing)?;
            v.text(&join(path, field), node, sip::max_chars(field), hint)
        };
        let username = required(self, sip::USERNAME, "the SIP username the account registers as");
        let proxy = required(self, sip::PROXY, "the SIP server to register with, e.g. trunk.example.com");
        let env = sip::password_env(username.as_deref().unwrap_or("alice"));
        let password =
            self.required(&found, item.loc, path, sip::PASSWORD, reference_hint(sip::PASSWORD, &env)).and_then(
                |node| self.secret_hinted(&join(path, sip::PASSWORD), node, || reference_hint(sip::PASSWORD, &env)),
            );
        let optional = |v: &mut Validator, field: &'static str| match found.get(field) {
            None => Some(None),
            Some((_, node)) if matches!(node.kind, NodeKind::Null) => Some(None),
            Some((_, node)) => {
                let hint = match field {
                    sip::OUTBOUND_PROXY => {
                        "a proxy used to reach the SIP server, e.g. proxy.trunk.example.com; null \
                                            (or leaving it out) for none"
                    }
                    _ => {
                        "the authentication username, if different from the SIP username; null (or leaving it out) \
                          for none"
                    }
                };
                v.text(&join(path, field), node, sip::max_chars(field), hint).map(Some)
            }
        };
        let outbound_proxy = optional(self, sip::OUTBOUND_PROXY);
        let auth_user = optional(self, sip::AUTH_USER);
        let key = username.clone().zip(proxy.clone()).map(|(u, p)| RegistrationKey::new(u, p));
        if self.invalid.diagnostics.len() > before {
            return (key, None);
        }
        let spec = (|| {
            Some(RegistrationSpec {
                username: username?,
                proxy: proxy?,
                password: password?,
                outbound_proxy: outbound_proxy?,
                auth_user: auth_user?,
            })
        })();
        (key, spec)
    }

    /// A text value written as the API keeps it: a non-blank string, no surrounding whitespace (the API trims it),
    /// no control or invisible character, at most `max` characters.
    fn text(&mut self, path: &str, node: &Node, max: Option<usize>, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Str(s) if s.trim().is_empty() => {
                self.report(Code::EmptyValue, node.loc, path, "may not be blank", what);
                None
            }
            NodeKind::Str(s) if s.trim() != s => {
                let hint = "remove it: the API trims it away, so the account would never match the file";
                self.report(Code::Whitespace, node.loc, path, "has leading or trailing whitespace", hint);
                None
            }
            NodeKind::Str(s) if s.chars().any(crate::clean::is_hidden) => {
                let c = s.chars().find(|&c| crate::clean::is_hidden(c)).unwrap_or_default();
                self.report(
                    Code::ControlCharacter,
                    node.loc,
                    path,
                    format!("the value holds a control or invisible character (U+{:04X})", c as u32),
                    "write the value on one line with no control characters (NUL, tab, line break) in it",
                );
                None
            }
            NodeKind::Str(s) => match max.filter(|max| s.chars().count() > *max) {
                Some(max) => {
                    self.report(
                        Code::OverLimit,
                        node.loc,
                        path,
                        format!("is {} characters long; the API accepts at most {max}", s.chars().count()),
                        format!("shorten it to at most {max} characters ({what})"),
                    );
                    None
                }
                None => Some(s.clone()),
            },
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                let message = format!("expected a string, found {}", node.kind.describe());
                let hint = "quote the value, e.g. `\"...\"`, so YAML keeps it as written";
                self.report(Code::WrongType, node.loc, path, message, hint);
                None
            }
            NodeKind::Null => {
                self.report(Code::EmptyValue, node.loc, path, "has no value", what);
                None
            }
            NodeKind::Seq(_) | NodeKind::Map(_) => {
                self.sensitive_all(node);
                let message = format!("expected a string, found {}", node.kind.describe());
                self.report(Code::WrongType, node.loc, path, message, what);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::model::{AgentEntry, Config};
    use crate::config::{Code, ConfigError, from_source};
    use crate::secret::Reference;

    fn load(text: &str) -> Result<Config, ConfigError> {
        from_source(Path::new("telephony.yaml"), text.to_string())
    }

    /// The problems of a file, as `code path line`.
    fn problems(text: &str) -> Vec<String> {
        let err = load(text).expect_err("the file is refused");
        err.diagnostics
            .iter()
            .map(|d| format!("{} {} {}", d.code, d.path, d.loc.map(|l| l.line).unwrap_or(0)))
            .collect()
    }

    const FULL: &str = "\
sip:
  allowedCidrRanges: [203.0.113.0/24, 198.51.100.16/28]
  allowAllAgents: false
  allowedAgents:
    - agentId: 3C90C3CC-0D44-4B50-8888-8DD25736052A
      toUserPattern: \"^sales$\"
    - agentId: { agent: Support }
  fallbackHandler:
    url: https://hooks.example.com/sip-fallback
    secrets:
      - { env: SIP_FALLBACK_SECRET }
sipRegistrations:
  - username: alice
    proxy: trunk.example.com
    password: { env: SIP_ALICE_PASSWORD }
    outboundProxy: null
  - username: alice
    proxy: other.example.com
    password: { file: secrets/alice }
    authUser: alice-auth
";

    #[test]
    fn a_file_of_only_sip_settings_is_valid_and_read_whole() {
        let config = load(FULL).unwrap();
        let sip = config.sip.as_ref().unwrap();
        assert_eq!(sip.allowed_cidr_ranges, ["203.0.113.0/24", "198.51.100.16/28"]);
        assert_eq!(sip.allowed_agents[0].value.agent, AgentEntry::Id("3c90c3cc-0d44-4b50-8888-8dd25736052a".into()));
        assert_eq!(sip.allowed_agents[0].value.to_user_pattern.as_deref(), Some("^sales$"));
        assert_eq!(sip.allowed_agents[1].value.agent, AgentEntry::Name("Support".into()));
        let fallback = sip.fallback.as_ref().unwrap();
        assert_eq!(fallback.url, "https://hooks.example.com/sip-fallback");
        assert_eq!(fallback.secrets.as_ref().unwrap()[0].value, Reference::Env("SIP_FALLBACK_SECRET".into()));
        let registrations = config.registrations.as_ref().unwrap();
        assert_eq!(registrations.len(), 2, "the same username on two proxies is two registrations");
        assert_eq!(registrations[0].value.outbound_proxy, None);
        assert_eq!(registrations[1].value.auth_user.as_deref(), Some("alice-auth"));
        // Every reference is known: the fallback secret and the passwords (for the files plan --out protects).
        let references: Vec<String> = config.references().iter().map(|r| r.path.clone()).collect();
        assert_eq!(
            references,
            [
                "account.apiKey",
                "sip.fallbackHandler.secrets[0]",
                "sipRegistrations[0].password",
                "sipRegistrations[1].password"
            ]
        );
        assert!(load("sipRegistrations: []\n").unwrap().registrations.unwrap().is_empty());
        assert_eq!(load("sip: {}\n").unwrap().sip.unwrap().fallback, None, "left out: none");
    }

    #[test]
    fn sip_cannot_be_deleted() {
        assert_eq!(problems("sip: null\n"), ["sip-not-deletable sip 1"]);
        assert_eq!(problems("plivo: null\nsip:\n"), ["sip-not-deletable sip 2"]);
        assert_eq!(problems("sipRegistrations:\n"), ["empty-value sipRegistrations 1"]);
    }

    #[test]
    fn a_cidr_with_host_bits_names_the_network_it_meant() {
        let err = load("sip:\n  allowedCidrRanges: [10.0.0.1/8, 10.0.0.0/8, 10.0.0.0/8, 300.1.1.1/32]\n").unwrap_err();
        let found: Vec<(Code, String)> = err.diagnostics.iter().map(|d| (d.code, d.path.clone())).collect();
        assert_eq!(
            found,
            [
                (Code::InvalidCidr, "sip.allowedCidrRanges[0]".into()),
                (Code::DuplicateCidr, "sip.allowedCidrRanges[2]".into()),
                (Code::InvalidCidr, "sip.allowedCidrRanges[3]".into()),
            ]
        );
        assert!(err.diagnostics[0].message.contains("10.0.0.0/8"), "{:?}", err.diagnostics[0]);
        assert!(err.diagnostics[0].hint.as_deref().unwrap().contains("`10.0.0.0/8`"));
    }

    #[test]
    fn limits_and_shapes_are_checked_where_they_stand() {
        let agents: String = (0..21).map(|i| format!("    - agentId: 00000000-0000-4000-8000-{i:012}\n")).collect();
        assert_eq!(problems(&format!("sip:\n  allowedAgents:\n{agents}")), ["over-limit sip.allowedAgents 3"]);
        let long = "x".repeat(201);
        assert_eq!(
            problems(&format!(
                "sip:\n  allowedAgents:\n    - agentId: 00000000-0000-4000-8000-000000000001\n      toUserPattern: {long}\n"
            )),
            ["over-limit sip.allowedAgents[0].toUserPattern 4"]
        );
        assert_eq!(
            problems("sip:\n  allowedAgents:\n    - agentId: not-a-uuid\n    - toUserPattern: x\n"),
            ["invalid-agent-id sip.allowedAgents[0].agentId 3", "missing-field sip.allowedAgents[1].agentId 4"]
        );
        let twice = "    - agentId: 00000000-0000-4000-8000-000000000001\n";
        let default = "    - { agentId: 00000000-0000-4000-8000-000000000001, toUserPattern: \"^agent_00000000-0000-4000-8000-000000000001$\" }\n";
        assert_eq!(
            problems(&format!("sip:\n  allowedAgents:\n{twice}{default}")),
            ["duplicate-agent sip.allowedAgents[1] 4"],
            "the default pattern written out is the same allowance"
        );
        assert_eq!(
            problems("sip:\n  fallbackHandler: { url: http://hooks.example.com/x }\n"),
            ["invalid-url sip.fallbackHandler.url 2"]
        );
        assert!(load("sip:\n  fallbackHandler: { url: \"http://127.0.0.1:9/x\" }\n").is_ok());
        assert_eq!(
            problems("sip:\n  fallbackHandler: { url: https://h.example.com, secrets: [] }\n"),
            ["empty-value sip.fallbackHandler.secrets 2"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("{{ env: S{i} }}")).collect();
        assert_eq!(
            problems(&format!(
                "sip:\n  fallbackHandler: {{ url: https://h.example.com, secrets: [{}] }}\n",
                eleven.join(", ")
            )),
            ["over-limit sip.fallbackHandler.secrets 2"]
        );
        assert_eq!(problems("sip:\n  domain: x.sip.ultravox.ai\n"), ["unknown-key sip.domain 2"]);
        let user = "u".repeat(61);
        assert_eq!(
            problems(&format!(
                "sipRegistrations:\n  - {{ username: {user}, proxy: p, password: {{ env: P }}, authUser: \" a\" }}\n"
            )),
            ["over-limit sipRegistrations[0].username 2", "whitespace sipRegistrations[0].authUser 2"]
        );
        assert_eq!(
            problems("sipRegistrations:\n  - { username: a, password: { env: P } }\n"),
            ["missing-field sipRegistrations[0].proxy 2"]
        );
    }

    #[test]
    fn a_registration_listed_twice_is_refused_at_the_second() {
        let entry = "  - { username: alice, proxy: trunk.example.com, password: { env: P } }\n";
        assert_eq!(
            problems(&format!("sipRegistrations:\n{entry}{entry}")),
            ["duplicate-registration sipRegistrations[1] 3"]
        );
    }

    #[test]
    fn literal_secrets_are_refused_and_never_shown() {
        for text in [
            "sip:\n  fallbackHandler: { url: https://h.example.com, secrets: [FAKE-literal-1] }\n",
            "sip:\n  fallbackHandler: { url: https://h.example.com, secrets: FAKE-literal-1 }\n",
            "sipRegistrations:\n  - { username: a, proxy: p, password: FAKE-literal-1 }\n",
        ] {
            let err = load(text).unwrap_err();
            assert_eq!(err.diagnostics[0].code, Code::LiteralSecret, "{text}");
            let shown = crate::render::diagnostics::render(&err, crate::render::Palette::plain());
            assert!(!shown.contains("FAKE"), "{shown}");
        }
    }
}
