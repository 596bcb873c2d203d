//! Resolving a [`Config`]'s references into the desired state. Every unresolved reference is reported at once, each
//! naming the reference and where it is written, never a value.

use secrecy::{ExposeSecret, SecretString};

use crate::config::diagnostic::{ConfigError, Diagnostic};
use crate::config::model::{AgentEntry, Config, Declaration, IdentifierSource, Located};
use crate::model::MAX_APPLICATION_SID_CHARS;
use crate::secret::{self, Reference, Scrubber};
use crate::state::{Desired, DesiredProvider, DesiredState, Settings};

/// The desired state and the API key, with a scrubber that knows every secret the run read.
#[derive(Debug)]
pub struct Resolved {
    pub desired: DesiredState,
    pub api_key: SecretString,
    pub scrubber: Scrubber,
}

/// Resolves the API key and every reference of managed providers.
pub fn resolve(config: &Config) -> Result<Resolved, ConfigError> {
    let mut r = Resolver { config, diags: Vec::new(), scrubber: Scrubber::default() };
    let api_key = r.secret(&config.api_key);
    let providers = config.providers.clone().map(|d| match d {
        Declaration::Unmanaged => Desired::Unmanaged,
        Declaration::MustNotExist => Desired::Absent,
        Declaration::Managed(spec) => {
            let identifiers = spec
                .identifiers
                .iter()
                .filter_map(|(field, located)| r.identifier(field, located).map(|v| (*field, v)))
                .collect();
            let secrets =
                spec.secrets.iter().filter_map(|(field, located)| r.secret(located).map(|v| (*field, v))).collect();
            let allowed_agent_ids = spec
                .allowed_agents
                .iter()
                .map(|a| match &a.value {
                    AgentEntry::Id(id) => id.clone(),
                })
                .collect();
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
    if !r.diags.is_empty() {
        return Err(ConfigError {
            file: config.path.clone(),
            source_text: config.source.clone(),
            diagnostics: r.diags,
        });
    }
    let scrubber = r.scrubber;
    Ok(Resolved {
        desired: DesiredState { providers },
        api_key: api_key.unwrap_or_else(|| SecretString::from(String::new())),
        scrubber,
    })
}

struct Resolver<'a> {
    config: &'a Config,
    diags: Vec<Diagnostic>,
    scrubber: Scrubber,
}

impl Resolver<'_> {
    fn read(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        match secret::resolve(&located.value, &self.config.base_dir) {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("cannot resolve {}: {e}", located.value);
                self.diags.push(Diagnostic::new(located.loc, &located.path, message).with_hint(e.hint()));
                None
            }
        }
    }

    fn secret(&mut self, located: &Located<Reference>) -> Option<SecretString> {
        let value = self.read(located)?;
        self.scrubber.add(&value);
        Some(value)
    }

    fn identifier(&mut self, field: &str, located: &Located<IdentifierSource>) -> Option<String> {
        let value = match &located.value {
            IdentifierSource::Literal(s) => return Some(s.clone()),
            IdentifierSource::Reference(reference) => {
                let as_ref = Located { value: reference.clone(), loc: located.loc, path: located.path.clone() };
                self.read(&as_ref)?.expose_secret().to_string()
            }
        };
        if field == "applicationSid" && value.chars().count() > MAX_APPLICATION_SID_CHARS {
            self.diags.push(Diagnostic::new(
                located.loc,
                &located.path,
                format!(
                    "the referenced value is {} characters long; the API accepts at most {MAX_APPLICATION_SID_CHARS}",
                    value.chars().count()
                ),
            ));
            return None;
        }
        Some(value)
    }
}
