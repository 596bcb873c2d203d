//! The account's SIP settings as the Ultravox API names them: the SIP config (`GET`/`PATCH /api/sip`, a singleton)
//! and the SIP registrations (`/api/sip/registrations`, a collection). Like [`crate::provider`] for the telephony
//! providers, this is the one place that spells each field and each limit, and the rules that the file, the diff and
//! the renderers share: what a CIDR range is, which URL a fallback handler may have, what an omitted `toUserPattern`
//! means, and how a registration is identified.
//!
//! Pure and free of I/O (a registration's identity is shown through [`crate::redact`], which holds the run's
//! secrets).

use std::fmt;
use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The top-level key of the SIP config in the file (and the name plans give it).
pub const SIP: &str = "sip";
/// The top-level key of the SIP registrations in the file.
pub const REGISTRATIONS: &str = "sipRegistrations";

/// The SIP config's fields (`SipConfig`, `PatchedSipConfig`).
pub const CIDR_RANGES: &str = "allowedCidrRanges";
pub const ALLOW_ALL_AGENTS: &str = "allowAllAgents";
pub const ALLOWED_AGENTS: &str = "allowedAgents";
pub const FALLBACK: &str = "fallbackHandler";
/// Read-only: the domain SIP trunks send calls to. Shown, never sent.
pub const DOMAIN: &str = "domain";
/// The writable fields of the SIP config, in the order plans list them.
pub const CONFIG_FIELDS: [&str; 4] = [CIDR_RANGES, ALLOW_ALL_AGENTS, ALLOWED_AGENTS, FALLBACK];

/// An agent allowance's fields (`AgentAllowance`).
pub const AGENT_ID: &str = "agentId";
pub const TO_USER_PATTERN: &str = "toUserPattern";
/// The fallback handler's fields (`FallbackHandler`).
pub const URL: &str = "url";
pub const SECRETS: &str = "secrets";
/// How plans name the fallback handler's fields.
pub const FALLBACK_URL: &str = "fallbackHandler.url";
pub const FALLBACK_SECRETS: &str = "fallbackHandler.secrets";

/// A registration's fields (`SipRegistration`): `username` and `proxy` identify it, `password` is write-only.
pub const USERNAME: &str = "username";
pub const PASSWORD: &str = "password";
pub const PROXY: &str = "proxy";
pub const OUTBOUND_PROXY: &str = "outboundProxy";
pub const AUTH_USER: &str = "authUser";
/// Every field a registration is created with, in the schema's order.
pub const REGISTRATION_FIELDS: [&str; 5] = [USERNAME, PASSWORD, PROXY, OUTBOUND_PROXY, AUTH_USER];
/// The fields a registration is updated with: the identity (`username`, `proxy`) never changes, or it would be
/// another registration.
pub const UPDATABLE_FIELDS: [&str; 2] = [OUTBOUND_PROXY, AUTH_USER];

/// The API's limits.
pub const MAX_ALLOWANCES: usize = 20;
pub const MAX_PATTERN_CHARS: usize = 200;
pub const MAX_FALLBACK_SECRETS: usize = 10;
pub const MAX_FALLBACK_SECRET_CHARS: usize = 120;
pub const MAX_USERNAME_CHARS: usize = 60;
pub const MAX_PROXY_CHARS: usize = 100;
pub const MAX_AUTH_USER_CHARS: usize = 60;

/// The longest value the API accepts for a registration's text field.
pub fn max_chars(field: &str) -> Option<usize> {
    match field {
        USERNAME => Some(MAX_USERNAME_CHARS),
        PROXY | OUTBOUND_PROXY => Some(MAX_PROXY_CHARS),
        AUTH_USER => Some(MAX_AUTH_USER_CHARS),
        _ => None,
    }
}

/// The conventional variable of the fallback handler's first secret (`SIP_FALLBACK_SECRET`, then `_2`, `_3`...),
/// used in hints and by `import`.
pub fn fallback_secret_env(index: usize) -> String {
    if index == 0 { "SIP_FALLBACK_SECRET".to_string() } else { format!("SIP_FALLBACK_SECRET_{}", index + 1) }
}

/// The conventional variable of a registration's password: `SIP_<USERNAME>_PASSWORD`, the username upper-cased
/// with every character a variable name cannot hold as `_` (used in hints and by `import`).
pub fn password_env(username: &str) -> String {
    format!("SIP_{}_PASSWORD", env_word(username))
}

/// `text` as a part of a variable name: ASCII letters and digits upper-cased, anything else `_`.
pub fn env_word(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The `toUserPattern` the API applies when none is given: `^agent_<agentId>$`.
pub fn default_pattern(agent_id: &str) -> String {
    format!("^agent_{agent_id}$")
}

/// Whether `pattern` is the default pattern of `agent_id` (the UUID in any case).
pub fn is_default_pattern(agent_id: &str, pattern: &str) -> bool {
    pattern
        .strip_prefix("^agent_")
        .and_then(|rest| rest.strip_suffix('$'))
        .is_some_and(|id| id.eq_ignore_ascii_case(agent_id))
}

/// One agent allowance as the diff compares it: the agent's ID (lower case) and its pattern, `None` for the
/// default (whether omitted, empty, or written out as `^agent_<agentId>$`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Allowance {
    pub agent_id: String,
    pub to_user_pattern: Option<String>,
}

impl Allowance {
    /// An allowance, its ID lower-cased and a default pattern (in any spelling) as `None`.
    pub fn new(agent_id: &str, to_user_pattern: Option<&str>) -> Allowance {
        let agent_id = agent_id.to_lowercase();
        let to_user_pattern =
            to_user_pattern.filter(|p| !p.is_empty() && !is_default_pattern(&agent_id, p)).map(str::to_string);
        Allowance { agent_id, to_user_pattern }
    }

    /// How plans show it: the agent's ID, then its pattern when it is not the default.
    pub fn shown(&self) -> String {
        match &self.to_user_pattern {
            None => self.agent_id.clone(),
            Some(pattern) => format!("{}{PATTERN_SEPARATOR}{pattern}", self.agent_id),
        }
    }
}

/// An allowance as [`Allowance::shown`] writes it, split back into the agent's ID and its pattern (`None`: the
/// default).
pub fn split_shown(entry: &str) -> (&str, Option<&str>) {
    match entry.split_once(PATTERN_SEPARATOR) {
        Some((id, pattern)) => (id, Some(pattern)),
        None => (entry, None),
    }
}

/// What stands between an allowance's agent ID and its pattern as plans show it.
const PATTERN_SEPARATOR: &str = " toUserPattern=";

/// What identifies a registration: its username and proxy together. Shown as `username@proxy`, each as it was
/// written. Two keys are the same registration when the usernames are equal and the proxies are equal without regard
/// to ASCII case: a proxy is a host name (with an optional port), and a server that stores it lower-cased must not
/// make every apply delete and re-create the registration. The username is compared exactly (SIP user names are
/// case-sensitive).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RegistrationKey {
    pub username: String,
    pub proxy: String,
}

impl RegistrationKey {
    pub fn new(username: impl Into<String>, proxy: impl Into<String>) -> RegistrationKey {
        RegistrationKey { username: username.into(), proxy: proxy.into() }
    }

    /// What equality, order and hashing look at.
    fn identity(&self) -> (&str, String) {
        (&self.username, self.proxy.to_ascii_lowercase())
    }
}

impl PartialEq for RegistrationKey {
    fn eq(&self, other: &Self) -> bool {
        self.username == other.username && self.proxy.eq_ignore_ascii_case(&other.proxy)
    }
}

impl Eq for RegistrationKey {}

impl std::hash::Hash for RegistrationKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for RegistrationKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RegistrationKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.identity().cmp(&other.identity())
    }
}

/// As every document and message shows it: `username@proxy`, each part checked as a value and masked whole when it
/// holds a secret of the run ([`crate::redact::shown`]).
impl fmt::Display for RegistrationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", crate::redact::shown(&self.username), crate::redact::shown(&self.proxy))
    }
}

/// Why a CIDR range is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrError {
    pub message: String,
    /// The network the range most likely meant (its host bits cleared), when it is one with host bits set.
    pub meant: Option<String>,
}

/// An IPv4 network `a.b.c.d/n` with no host bits set, in its canonical form (what the API returns).
pub fn parse_cidr(text: &str) -> Result<String, CidrError> {
    let fail = |message: String| Err(CidrError { message, meant: None });
    let Some((address, bits)) = text.split_once('/') else {
        return fail(format!("`{text}` has no prefix length: a range is written `ADDRESS/BITS`"));
    };
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return fail(format!("`{address}` is not an IPv4 address (four numbers 0 to 255, without leading zeros)"));
    };
    // Digits only: `u32::from_str` would also take `+8`.
    let bits: u32 = match bits.parse() {
        Ok(n) if n <= 32 && !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return fail(format!("`/{bits}` is not a prefix length: an IPv4 range has 0 to 32 bits")),
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    let network = Ipv4Addr::from(u32::from(address) & mask);
    let canonical = format!("{network}/{bits}");
    if network != address {
        return Err(CidrError {
            message: format!("`{text}` has host bits set: it is an address inside the network {canonical}"),
            meant: Some(canonical),
        });
    }
    Ok(canonical)
}

/// Whether a fallback handler's URL is one the API will call: `https://`, or `http://` to a loopback host (a local
/// test server). Answers why not.
pub fn check_url(text: &str) -> Result<(), String> {
    let Ok(url) = url::Url::parse(text) else {
        return Err(format!("`{text}` is not a URL"));
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err("is an http:// URL: the webhook's requests would travel unencrypted; use https://".into()),
        scheme => Err(format!("is a {scheme}: URL; the fallback handler is an https:// webhook")),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cidr_is_a_network_without_host_bits() {
        assert_eq!(parse_cidr("10.0.0.0/8"), Ok("10.0.0.0/8".into()));
        assert_eq!(parse_cidr("203.0.113.7/32"), Ok("203.0.113.7/32".into()));
        assert_eq!(parse_cidr("0.0.0.0/0"), Ok("0.0.0.0/0".into()));
        let err = parse_cidr("10.0.0.1/8").unwrap_err();
        assert_eq!(err.meant.as_deref(), Some("10.0.0.0/8"));
        assert!(err.message.contains("10.0.0.0/8"), "{err:?}");
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "010.0.0.0/8", "10.0.0.0/+8", "10.0.0.0/x", "::1/128"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_pattern_is_recognised_in_any_case_of_the_uuid() {
        let id = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        assert!(is_default_pattern(id, &default_pattern(id)));
        assert!(is_default_pattern(id, &default_pattern(&id.to_uppercase())));
        assert!(!is_default_pattern(id, "^sales$"));
        assert_eq!(Allowance::new(&id.to_uppercase(), Some(&default_pattern(id))), Allowance::new(id, None));
        assert_eq!(Allowance::new(id, Some("")), Allowance::new(id, None));
        assert_eq!(Allowance::new(id, Some("^sales$")).shown(), format!("{id} toUserPattern=^sales$"));
    }

    #[test]
    fn a_fallback_url_is_https_or_http_to_a_loopback_host() {
        assert!(check_url("https://hooks.example.com/sip").is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://[::1]/hook").is_ok());
        assert!(check_url("http://hooks.example.com/sip").is_err());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("hooks.example.com").is_err());
    }

    #[test]
    fn conventional_variables_are_valid_names() {
        assert_eq!(password_env("alice"), "SIP_ALICE_PASSWORD");
        assert_eq!(password_env("bob.smith+1"), "SIP_BOB_SMITH_1_PASSWORD");
        assert_eq!(fallback_secret_env(0), "SIP_FALLBACK_SECRET");
        assert_eq!(fallback_secret_env(1), "SIP_FALLBACK_SECRET_2");
    }

    #[test]
    fn a_registration_is_shown_as_username_at_proxy() {
        assert_eq!(RegistrationKey::new("alice", "trunk.example.com").to_string(), "alice@trunk.example.com");
    }
}
