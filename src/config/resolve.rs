//! Resolving a [`Config`]'s references into the desired state. Every unresolved reference is reported at once, each
//! naming the reference and where it is written, never a value. Agents written by name are left for
//! [`crate::agents`] to look up (that needs the API).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::config::diagnostic::{Code, ConfigError, Diagnostic};
use crate::config::model::{
    AgentEntry, Config, DEFAULT_API_KEY_ENV, Declaration, IdentifierSource, Located, RegistrationSpec, SipSpec,
};
use crate::provider::Provider;
use crate::secret::{self, Reference, ResolveError};
use crate::sip::{self, Allowance};
use crate::state::{
    Desired, DesiredFallback, DesiredProvider, DesiredRegistration, DesiredSip, DesiredState, Settings,
};

/// An entry `{ agent: NAME }` still to be looked up.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentName {
    /// The list it is written in.
    pub list: AgentList,
    /// Its index in that list as written.
    pub position: usize,
    pub name: Located<String>,
}

/// A list of agents a file may name agents in.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentList {
    /// A provider's `callCreationAllowedAgentIds`.
    Provider(Provider),
    /// `sip.allowedAgents`, with the allowance's `toUserPattern` (`None`: the default).
    Sip { to_user_pattern: Option<String> },
}

/// The desired state and the API key; every secret read (the SIP passwords and fallback secrets too) is registered
/// ([`crate::redact`]), so that no value holding it is ever shown, and one shorter than
/// [`crate::redact::PIECE_CHARS`] is refused.
#[derive(Debug)]
pub struct Resolved {
    pub desired: DesiredState,
    pub api_key: SecretString,
    /// Agents written by name, in file order; their IDs are not in `desired` until looked up.
    pub agent_names: Vec<AgentName>,
    /// Once looked up: the name of each agent written by name, by ID (for plans to show beside the ID).
    pub names_by_id: BTreeMap<String, String>,
}

/// Resolves the API key and every reference of managed providers.
pub fn resolve(config: &Config) -> Result<Resolved, ConfigError> {
    let mut r = Resolver { config, diags: Vec::new(), failed_sops_files: Default::default() };
    let api_key = r.secret(&config.api_key);
    let mut agent_names = Vec::new();
    let providers = config.providers.clone().map(|d| match d {
        Declaration::Unmanaged => Desired::Unmanaged,
        Declaration::Absent => Desired::Absent,
        Declaration::Managed(spec) => {
            let identifiers = spec
                .identifiers
                .iter()
                .filter_map(|(field, located)| r.identifier(spec.provider, field, located).map(|v| (*field, v)))
                .collect();
            let secrets =
                spec.secrets.iter().filter_map(|(field, located)| r.secret(located).map(|v| (*field, v))).collect();
            let mut allowed_agent_ids = Vec::new();
            for (position, entry) in spec.allowed_agents.iter().enumerate() {
                match &entry.value {
                    AgentEntry::Id(id) => allowed_agent_ids.push(id.clone()),
                    AgentEntry::Name(name) => agent_names.push(AgentName {
                        list: AgentList::Provider(spec.provider),
                        position,
                        name: Located { value: name.clone(), loc: entry.loc, path: entry.path.clone() },
                    }),
                }
            }
            Desired::Present(DesiredProvider {
                provider: spec.provider,
                identifiers,
                secrets,
                settings: Settings {
                    allowed_agent_ids,
                    allow_all_agents: spec.allow_all_agents,
                    request_context_mapping: spec.request_context_mapping,
                },
            })
        }
    });
    let sip = config.sip.as_ref().map(|spec| r.sip(spec, &mut agent_names));
    let registrations =
        config.registrations.as_ref().map(|list| list.iter().filter_map(|l| r.registration(&l.value)).collect());
    if !r.diags.is_empty() {
        let mut diagnostics = r.diags;
        diagnostics.sort_by_key(|d| d.loc);
        return Err(ConfigError::new(config.path.clone(), config.source.clone(), diagnostics));
    }
    Ok(Resolved {
        desired: DesiredState { providers, sip, registrations },
        api_key: api_key.expect("without a diagnostic, the API key resolved"),
        agent_names,
        names_by_id: BTreeMap::new(),
    })
}

/// What to do about a secret shorter than [`crate::redact::PIECE_CHARS`]: a provider's or the API key is cut short
/// or a placeholder; a SIP password or fallback secret may really be that short, and must be made longer.
fn short_secret_hint(located: &Located<Reference>) -> String {
    let reference = &located.value;
    if located.path.starts_with(sip::REGISTRATIONS) {
        format!(
            "check that {reference} holds the whole password; if the SIP trunk's password really is this short, set \
             a longer one with its provider (a secret that short could not be kept out of the output)"
        )
    } else if located.path.starts_with(sip::SIP) {
        format!(
            "check that {reference} holds the whole signing secret, not a placeholder; if it really is this short, \
             choose a longer one (a secret that short could not be kept out of the output)"
        )
    } else {
        format!(
            "check that {reference} holds the whole secret as the provider (or Ultravox, for the API key) gives it, \
             not a placeholder or a part of it"
        )
    }
}

/// The code of a reference that cannot be resolved.
fn code_of(error: &ResolveError) -> Code {
    match error {
        ResolveError::EnvUnset { .. } => Code::EnvUnset,
        ResolveError::EnvEmpty { .. } | ResolveError::FileEmpty { .. } => Code::EmptyValue,
        ResolveError::EnvNotUnicode { .. }
        | ResolveError::FileUnreadable { .. }
        | ResolveError::FileTooLarge { .. }
        | ResolveError::FileNotText { .. } => Code::UnreadableReference,
        ResolveError::SopsEmpty { .. } => Code::EmptyValue,
        ResolveError::Sops(e) => Code::of_sops(e),
    }
}

struct Resolver<'a> {
    config: &'a Config,
    diags: Vec<Diagnostic>,
    /// The SOPS files whose decryption failed, already reported with advice.
    failed_sops_files: std::collections::HashSet<std::path::PathBuf>,
}

impl Resolver<'_> {
    /// `sip:`: agents written by name are left to look up (in `agent_names`); the fallback secrets are read.
    fn sip(&mut self, spec: &SipSpec, agent_names: &mut Vec<AgentName>) -> DesiredSip {
        let mut allowed_agents = Vec::new();
        for (position, entry) in spec.allowed_agents.iter().enumerate() {
            let pattern = entry.value.to_user_pattern.clone();
            match &entry.value.agent {
                AgentEntry::Id(id) => allowed_agents.push(Allowance::new(id, pattern.as_deref())),
                AgentEntry::Name(name) => agent_names.push(AgentName {
                    list: AgentList::Sip { to_user_pattern: pattern },
                    position,
                    name: Located {
                        value: name.clone(),
                        loc: entry.loc,
                        path: format!("{}.{}", entry.path, sip::AGENT_ID),
                    },
                }),
            }
        }
        let fallback = spec.fallback.as_ref().map(|f| DesiredFallback {
            url: f.url.clone(),
            secrets: f.secrets.as_ref().map(|list| list.iter().filter_map(|l| self.fallback_secret(l)).collect()),
        });
        DesiredSip {
            allowed_cidr_ranges: spec.allowed_cidr_ranges.clone(),
            allow_all_agents: spec.allow_all_agents,
            allowed_agents,
            fallback,
        }
    }

    /// A fallback handler's secret: at most the API's length.
    fn fallback_secret(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        let value = self.secret(located)?;
        let chars = value.expose_secret().chars().count();
        if chars > sip::MAX_FALLBACK_SECRET_CHARS {
            self.diags.push(
                Diagnostic::new(
                    Code::OverLimit,
                    located.loc,
                    &located.path,
                    format!(
                        "the value of {} is {chars} characters long; the API accepts at most {}",
                        located.value,
                        sip::MAX_FALLBACK_SECRET_CHARS
                    ),
                )
                .with_hint("check that the reference holds the webhook's signing secret and nothing else"),
            );
            return None;
        }
        Some(value)
    }

    /// One registration, its password read.
    fn registration(&mut self, spec: &RegistrationSpec) -> Option<DesiredRegistration> {
        let password = self.secret(&spec.password)?;
        Some(DesiredRegistration {
            key: spec.key(),
            password,
            outbound_proxy: spec.outbound_proxy.clone(),
            auth_user: spec.auth_user.clone(),
        })
    }

    fn read(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        match secret::resolve(&located.value, &self.config.base_dir) {
            Ok(v) => Some(v),
            Err(e) => {
                let (path, message) = match (&located.loc, &e) {
                    // The default reference is not written in the file: say so.
                    (None, ResolveError::EnvUnset { name } | ResolveError::EnvEmpty { name })
                        if name == DEFAULT_API_KEY_ENV =>
                    {
                        (format!("{} (default `{{ env: {DEFAULT_API_KEY_ENV} }}`)", located.path), e.to_string())
                    }
                    _ => (located.path.clone(), e.to_string()),
                };
                let diagnostic = Diagnostic::new(code_of(&e), located.loc, path, message);
                // A SOPS file that cannot be decrypted fails every reference to it the same way: each is reported
                // at its place, the advice once.
                let repeated = match (&located.value, &e) {
                    (Reference::Sops { file, .. }, ResolveError::Sops(e)) if e.concerns_the_file() => {
                        !self.failed_sops_files.insert(self.config.base_dir.join(file))
                    }
                    _ => false,
                };
                self.diags.push(if repeated { diagnostic } else { diagnostic.with_hint(e.hint()) });
                None
            }
        }
    }

    fn secret(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        let value = self.read_trimmed(located)?;
        crate::redact::register_secret(&value);
        self.refuse_hidden(
            located.loc,
            &located.path,
            &format!("the value of {}", located.value),
            value.expose_secret(),
        )?;
        let chars = value.expose_secret().chars().count();
        if chars < crate::redact::PIECE_CHARS {
            self.diags.push(
                Diagnostic::new(
                    Code::ShortSecret,
                    located.loc,
                    &located.path,
                    format!(
                        "the value of {} is {chars} character{} long; {}, so it is refused",
                        located.value,
                        if chars == 1 { "" } else { "s" },
                        if located.path.starts_with(sip::SIP) {
                            // A SIP password may really be that short; the reason is the tool's own.
                            format!(
                                "reconcile cannot recognise a secret under {} characters",
                                crate::redact::PIECE_CHARS
                            )
                        } else {
                            format!("no credential is shorter than {}", crate::redact::PIECE_CHARS)
                        }
                    ),
                )
                .with_hint(short_secret_hint(located)),
            );
            return None;
        }
        Some(value)
    }

    /// Refuses a value holding a control character (NUL, a tab, an inner line break...) or an invisible formatting
    /// one: the API would store it (or cut it) and no plan could show it.
    fn refuse_hidden(
        &mut self,
        loc: Option<crate::config::node::Loc>,
        path: &str,
        what: &str,
        value: &str,
    ) -> Option<()> {
        let Some(c) = value.chars().find(|&c| crate::clean::is_hidden(c)) else { return Some(()) };
        self.diags.push(
            Diagnostic::new(
                Code::ControlCharacter,
                loc,
                path,
                format!("{what} holds a control or invisible character (U+{:04X})", c as u32),
            )
            .with_hint("write the value on one line with no control characters (NUL, tab, line break) in it"),
        );
        None
    }

    /// Reads a reference and refuses a value with whitespace around it: the API trims values, so the account would
    /// never match the file (and the plan would show a change forever).
    fn read_trimmed(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        let value = self.read(located)?;
        let text = value.expose_secret();
        if text.trim() != text {
            self.diags.push(
                Diagnostic::new(Code::Whitespace, located.loc, &located.path, format!("the value of {} has leading or trailing whitespace", located.value))
                    .with_hint("remove it: the API trims values, so the account would never match the file (a `file` secret drops exactly one trailing newline)"),
            );
            return None;
        }
        Some(value)
    }

    fn identifier(&mut self, provider: Provider, field: &str, located: &Located<IdentifierSource>) -> Option<String> {
        let value = match &located.value {
            IdentifierSource::Literal(s) => {
                self.refuse_hidden(located.loc, &located.path, "the value", s)?;
                return Some(s.clone());
            }
            IdentifierSource::Reference(reference) => {
                let as_ref = Located { value: reference.clone(), loc: located.loc, path: located.path.clone() };
                let value = self.read_trimmed(&as_ref)?.expose_secret().to_string();
                self.refuse_hidden(located.loc, &located.path, &format!("the value of {reference}"), &value)?;
                value
            }
        };
        if let Some((max, what)) = provider.max_chars(field).filter(|(max, _)| value.chars().count() > *max) {
            self.diags.push(
                Diagnostic::new(
                    Code::OverLimit,
                    located.loc,
                    &located.path,
                    format!(
                        "the referenced value is {} characters long; the API accepts at most {max}",
                        value.chars().count()
                    ),
                )
                .with_hint(format!("check that the reference holds the {what} and nothing else")),
            );
            return None;
        }
        Some(value)
    }
}
