//! Endpoint families, and where a write goes: its [`Target`] (the account-level config, one provider's, the SIP config,
//! or the SIP registrations) and its [`Method`]. Pure and free of I/O; it knows nothing of plans (the plan, above it, decides which requests to send).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::provider::Provider;

/// The account-level pair, deprecated by Ultravox since 2026-03.
pub const ACCOUNT_CONFIG_PATH: &str = "/api/accounts/me/telephony_config";

/// The account's SIP config (a singleton: `GET`, `PATCH`).
pub const SIP_PATH: &str = "/api/sip";
/// The account's SIP registrations (`GET`, paginated; `POST`); one of them is `/{registrationId}`.
pub const REGISTRATIONS_PATH: &str = "/api/sip/registrations";

/// The provider-scoped endpoint of one provider.
pub fn provider_path(provider: Provider) -> String {
    format!("/api/telephony_configs/{}", provider.key())
}

/// Which endpoints reconcile reads and writes through (`--endpoints`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Read with the account-level GET (falling back to the provider GETs when it is gone); write per provider.
    #[default]
    Auto,
    /// Ultravox's provider-scoped endpoints: one GET per provider, minimal writes per provider.
    Provider,
    /// The deprecated account-level pair: one GET, one PATCH of complete blocks.
    Account,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Auto => "auto",
            Family::Provider => "provider",
            Family::Account => "account",
        }
    }

    /// Whether writes go through the one account-level PATCH, which carries every written provider as a complete
    /// block (its unchanged secrets included); else each provider is written on its own endpoint, with only the
    /// fields that change.
    pub fn writes_account_level(self) -> bool {
        self == Family::Account
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An HTTP method apply sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(rename = "WriteMethod")]
pub enum Method {
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// What a write request writes: the resource behind its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The account-level config (`/api/accounts/me/telephony_config`): every written provider in one body.
    Account,
    /// One provider's config (`/api/telephony_configs/{provider}`).
    Provider(Provider),
    /// The account's SIP config (`/api/sip`). Endpoint families do not apply to it.
    Sip,
    /// The SIP registrations (`/api/sip/registrations`): where a registration is created.
    Registrations,
    /// One SIP registration (`/api/sip/registrations/{registrationId}`).
    Registration(String),
}

impl Target {
    /// The path under the API root.
    pub fn path(&self) -> String {
        match self {
            Target::Account => ACCOUNT_CONFIG_PATH.to_string(),
            Target::Provider(provider) => provider_path(*provider),
            Target::Sip => SIP_PATH.to_string(),
            Target::Registrations => REGISTRATIONS_PATH.to_string(),
            Target::Registration(id) => format!("{REGISTRATIONS_PATH}/{id}"),
        }
    }

    /// The path as messages and logs show it: a registration's ID (from an answer) masked where it holds a secret
    /// of the run ([`crate::redact::shown`]).
    pub fn shown_path(&self) -> String {
        match self {
            Target::Registration(id) => format!("{REGISTRATIONS_PATH}/{}", crate::redact::shown(id)),
            other => other.path(),
        }
    }

    /// The target a path names, if any (the inverse of [`Target::path`]). A registration's ID may be a mask
    /// ([`crate::redact::HIDDEN`]), as a document shows one holding a secret: such a target is for showing again,
    /// never sent (apply sends the requests of the plan it makes itself).
    pub fn from_path(path: &str) -> Option<Target> {
        match path {
            ACCOUNT_CONFIG_PATH => return Some(Target::Account),
            SIP_PATH => return Some(Target::Sip),
            REGISTRATIONS_PATH => return Some(Target::Registrations),
            _ => {}
        }
        if let Some(id) = path.strip_prefix(REGISTRATIONS_PATH).and_then(|rest| rest.strip_prefix('/')) {
            let shown = is_registration_id(id) || crate::redact::is_mask(id);
            return shown.then(|| Target::Registration(id.to_string()));
        }
        Provider::ALL.into_iter().find(|p| path == provider_path(*p)).map(Target::Provider)
    }
}

/// Whether `id` can be a registration's ID in a path: one segment of letters, digits, `-`, `_`, `.` and `:` (a UUID
/// is one), never `.` or `..` alone, and nothing a URL would escape or decode (`%`, `/`): an ID an answer holds can
/// never point a write at another path.
pub fn is_registration_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id.chars().any(|c| c != '.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_read_back_from_its_path() {
        let targets = [Target::Account, Target::Provider(Provider::Twilio), Target::Provider(Provider::Plivo)];
        for target in targets {
            assert_eq!(Target::from_path(&target.path()), Some(target));
        }
        assert_eq!(Target::Provider(Provider::Telnyx).path(), "/api/telephony_configs/telnyx");
        assert_eq!(Target::from_path("/api/telephony_configs/other"), None);
        for target in [Target::Sip, Target::Registrations, Target::Registration("3c90c3cc-0d44".into())] {
            assert_eq!(Target::from_path(&target.path()), Some(target));
        }
        assert_eq!(Target::Registration("r1".into()).path(), "/api/sip/registrations/r1");
        for bad in [
            "/api/sip/registrations/",
            "/api/sip/registrations/a/b",
            "/api/sip/registrations/a b",
            "/api/sip/registrations/..",
            "/api/sip/registrations/a%2Fb",
        ] {
            assert_eq!(Target::from_path(bad), None, "{bad}");
        }
    }
}
