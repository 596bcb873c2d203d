//! `reconcile import`: a starting `telephony.yaml` written from the account's current telephony config.
//!
//! The API returns identifiers and settings, and for a secret only a prefix: the file gets the identifiers and
//! settings as literals and every secret as a reference: by default `{ env: NAME }` with the conventional name, or,
//! with `--secrets sops:FILE`, `{ sops: FILE, key: provider.field }` (for a dotenv FILE, whose keys are flat, the
//! conventional name as the key), with the keys to put in the encrypted file listed in the header. Neither a secret
//! nor a prefix ever reaches the file or the terminal. Providers the account does not have are left out of
//! the file (unmanaged), so that importing changes nothing about how they are treated.
//!
//! The SIP config is written as `sip:` when it holds anything but the API's defaults (its read-only domain as a
//! comment), and the registrations as `sipRegistrations:` when there is one. The fallback handler's secrets, which the
//! API returns whole, and the registrations' passwords, which it never returns, are written as references too
//! (`SIP_FALLBACK_SECRET`, `SIP_<USERNAME>_PASSWORD`, ...), and the header names each variable to set.
//!
//! Every value is written exactly as the account holds it (quoted, so that control and invisible characters read
//! back as they are), never masked: where a value holds a secret of the run (the API key import reads), nothing is
//! written, and the error names the fields. A placeholder never reaches a declaration file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::config;
use crate::config::model::DEFAULT_API_KEY_ENV;
use crate::provider::{self, Provider};
use crate::secret::{self, Reference, ResolveError};
use crate::sip;
use crate::state::{RemoteProvider, RemoteRegistration, RemoteSip, RemoteState};

/// The schema reference written on the first line, relative to the written file's folder (as in the examples).
pub const SCHEMA_PATH: &str = "schema/telephony.schema.json";

/// Why an import stopped. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("refusing to overwrite {path}: the file already exists; nothing was written")]
    Exists { path: String },
    #[error(
        "the account has no telephony provider configured (twilio, telnyx and plivo are all absent), its SIP config \
         holds the API's defaults and it has no SIP registration: nothing to import; no file was written"
    )]
    NothingToImport,
    #[error("cannot read the Ultravox API key: {0}")]
    ApiKey(ResolveError),
    #[error("cannot write {path}: {reason}; nothing was written")]
    Write { path: String, reason: String },
    #[error(
        "the Ultravox API key is {chars} character{} long; no API key is shorter than {}, so it is refused",
        if *chars == 1 { "" } else { "s" },
        crate::redact::PIECE_CHARS
    )]
    ShortApiKey { chars: usize },
    #[error(
        "the account's {} {} part of {}; the file would put it in git, so nothing was written",
        fields.join(", "),
        if fields.len() == 1 { "holds" } else { "hold" },
        if *sip_secrets {
            "a secret this run read (the Ultravox API key, or the SIP fallback handler's secrets)"
        } else {
            "the Ultravox API key this run read"
        }
    )]
    HoldsSecret {
        fields: Vec<String>,
        /// Whether the run read the SIP fallback handler's secrets too (then the value may hold one of them).
        sip_secrets: bool,
    },
}

impl ImportError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ImportError::Exists { .. } => {
                "pass --force to replace it, or --out PATH to write elsewhere (`--out -` prints the file on stdout)"
                    .into()
            }
            ImportError::NothingToImport => {
                "write telephony.yaml by hand (the README's `telephony.yaml` section shows \
                 every field; `reconcile schema` prints the JSON Schema), or declare `twilio: null` (and the like) to \
                 require that a provider stays absent"
                    .into()
            }
            ImportError::ApiKey(e) => {
                format!("{} (import has no file yet, so it reads the default account.apiKey reference)", e.hint())
            }
            ImportError::Write { .. } => "check that the folder exists and is writable".into(),
            ImportError::ShortApiKey { .. } => format!(
                "set {DEFAULT_API_KEY_ENV} to the whole API key, as the Ultravox console gives it (import has no file \
                 yet, so it reads the default account.apiKey reference)"
            ),
            ImportError::HoldsSecret { .. } => "change the value on the account (in the Ultravox console) so that it \
                 holds no secret, then import again; or write telephony.yaml by hand, with secrets only as references \
                 (`{ env: NAME }`)"
                .into(),
        }
    }
}

/// Where the written file's secret references point (`import --secrets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretSource {
    /// `{ env: NAME }`, with the conventional names.
    #[default]
    Env,
    /// `{ sops: FILE, key: ... }`, FILE as written (relative to the written file's folder).
    Sops(PathBuf),
}

impl std::str::FromStr for SecretSource {
    type Err = String;

    fn from_str(s: &str) -> Result<SecretSource, String> {
        match s.split_once(':') {
            None if s == "env" => Ok(SecretSource::Env),
            Some(("sops", file)) if !file.trim().is_empty() => Ok(SecretSource::Sops(PathBuf::from(file))),
            Some(("sops", _)) => Err("`sops:` needs the encrypted file's path, e.g. sops:secrets.enc.yaml".into()),
            _ => Err("expected `env` or `sops:FILE` (e.g. sops:secrets.enc.yaml)".into()),
        }
    }
}

impl SecretSource {
    /// The reference written for a provider's secret field.
    fn reference(&self, provider: Provider, field: &str) -> String {
        match self {
            SecretSource::Env => format!("{{ env: {} }}", provider.conventional_env(field)),
            SecretSource::Sops(file) => {
                format!("{{ sops: {}, key: {} }}", quote(&file.display().to_string()), sops_key(file, provider, field))
            }
        }
    }

    /// The reference written for a SIP secret whose variable is `env`.
    fn sip_reference(&self, env: &str) -> String {
        match self {
            SecretSource::Env => format!("{{ env: {env} }}"),
            SecretSource::Sops(file) => {
                format!("{{ sops: {}, key: {} }}", quote(&file.display().to_string()), sip_sops_key(file, env))
            }
        }
    }
}

/// The key a SIP secret is read from in a SOPS file: `sip.<VARIABLE>`, or, in a dotenv file, the variable's name.
fn sip_sops_key(file: &Path, env: &str) -> String {
    if is_dotenv(file) { env.to_string() } else { format!("{}.{env}", sip::SIP) }
}

/// The key a field is read from in a SOPS file: `provider.field`, or, in a dotenv file (flat `NAME=value` lines),
/// the field's conventional variable name.
fn sops_key(file: &Path, provider: Provider, field: &str) -> String {
    if is_dotenv(file) { provider.conventional_env(field) } else { format!("{provider}.{field}") }
}

/// Whether sops reads `file` as dotenv (it chooses by the name's ending).
fn is_dotenv(file: &Path) -> bool {
    file.to_string_lossy().ends_with(".env")
}

/// The SOPS file the written file reads its secrets from, and the keys it must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopsKeys {
    /// As written in the references.
    pub file: String,
    /// The keys, in file order.
    pub keys: Vec<String>,
}

/// The file `import` writes, and what to tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The YAML text. Holds no secret and no prefix.
    pub text: String,
    /// The providers the account has, written as blocks.
    pub present: Vec<Provider>,
    /// Whether `sip:` is written (the account's SIP config is not the API's defaults).
    pub sip: bool,
    /// How many registrations `sipRegistrations:` lists (`None`: the key is left out, the account has none).
    pub registrations: Option<usize>,
    /// The providers the account does not have, left out of the file.
    pub absent: Vec<Provider>,
    /// The environment variables the file needs, the API key's first.
    pub variables: Vec<String>,
    /// With `--secrets sops:FILE`: the encrypted file and the keys it must hold.
    pub sops: Option<SopsKeys>,
    /// Things the user should know: a field the account did not return, a secret whose prefix proves nothing.
    pub notes: Vec<String>,
}

/// Reads the API key for import: the default `account.apiKey` reference, since there is no file to name another.
pub fn api_key() -> Result<SecretString, ImportError> {
    use secrecy::ExposeSecret;
    let key = secret::resolve(&Reference::Env(DEFAULT_API_KEY_ENV.to_string()), Path::new("."))
        .map_err(ImportError::ApiKey)?;
    let chars = key.expose_secret().chars().count();
    if chars < crate::redact::PIECE_CHARS {
        return Err(ImportError::ShortApiKey { chars });
    }
    Ok(key)
}

/// The fields (`provider.field`, `sip.field`, `sipRegistrations[i].field`) whose value on the account holds a secret
/// of the run, in file order: none of them may be written into a declaration file (the SIP domain, written as a
/// comment, neither).
fn fields_holding_secrets(remote: &RemoteState) -> Vec<String> {
    use crate::redact::holds_secret;
    let mut found = Vec::new();
    for block in remote.providers.iter().flatten() {
        let provider = block.provider;
        for &field in provider.identifier_fields() {
            if block.identifier(field).is_some_and(holds_secret) {
                found.push(format!("{provider}.{field}"));
            }
        }
        let settings = &block.settings;
        if settings.allowed_agent_ids.iter().any(|id| holds_secret(id)) {
            found.push(format!("{provider}.{}", provider::AGENT_IDS));
        }
        if settings.request_context_mapping.iter().any(|(k, v)| holds_secret(k) || holds_secret(v)) {
            found.push(format!("{provider}.{}", provider::CONTEXT_MAPPING));
        }
    }
    if let Some(config) = remote.sip.as_ref().filter(|s| !is_default_sip(s)) {
        let field = |name: &str| format!("{}.{name}", sip::SIP);
        if config.domain.as_deref().is_some_and(holds_secret) {
            found.push(field(sip::DOMAIN));
        }
        if config.allowed_cidr_ranges.iter().any(|r| holds_secret(r)) {
            found.push(field(sip::CIDR_RANGES));
        }
        let allowance = |a: &crate::sip::Allowance| {
            holds_secret(&a.agent_id) || a.to_user_pattern.as_deref().is_some_and(holds_secret)
        };
        if config.allowed_agents.iter().any(allowance) {
            found.push(field(sip::ALLOWED_AGENTS));
        }
        if config.fallback.as_ref().is_some_and(|f| holds_secret(&f.url)) {
            found.push(field(sip::FALLBACK_URL));
        }
    }
    for (i, r) in remote.registrations.iter().flatten().enumerate() {
        let fields = [
            (sip::USERNAME, Some(&r.key.username)),
            (sip::PROXY, Some(&r.key.proxy)),
            (sip::OUTBOUND_PROXY, r.outbound_proxy.as_ref()),
            (sip::AUTH_USER, r.auth_user.as_ref()),
        ];
        for (field, value) in fields {
            if value.is_some_and(|v| holds_secret(v)) {
                found.push(format!("{}[{i}].{field}", sip::REGISTRATIONS));
            }
        }
    }
    found
}

/// Renders the file for an account. Refuses an account with no provider: a file must declare at least one, and
/// declaring all three `null` would be a policy (delete whatever appears) that the account does not imply.
pub fn starting_file(remote: &RemoteState, source: &SecretSource) -> Result<Imported, ImportError> {
    let present: Vec<Provider> = Provider::ALL.into_iter().filter(|p| remote.get(*p).is_some()).collect();
    let absent: Vec<Provider> = Provider::ALL.into_iter().filter(|p| remote.get(*p).is_none()).collect();
    let sip_config = remote.sip.as_ref().filter(|s| !is_default_sip(s));
    let registrations = remote.registrations.as_deref().filter(|r| !r.is_empty());
    if present.is_empty() && sip_config.is_none() && registrations.is_none() {
        return Err(ImportError::NothingToImport);
    }
    let holding = fields_holding_secrets(remote);
    if !holding.is_empty() {
        let sip_secrets = remote.sip.as_ref().and_then(|s| s.fallback.as_ref()).is_some_and(|f| !f.secrets.is_empty());
        return Err(ImportError::HoldsSecret { fields: holding, sip_secrets });
    }
    // The SIP secrets' variables: the fallback handler's, then each registration's password (named after its
    // username, with its proxy when two registrations share a username).
    let fallback_envs: Vec<String> = sip_config
        .and_then(|s| s.fallback.as_ref())
        .map(|f| (0..f.secrets.len()).map(sip::fallback_secret_env).collect())
        .unwrap_or_default();
    let password_envs = password_variables(registrations.unwrap_or_default());
    let mut sip_secrets: Vec<(String, String)> = fallback_envs
        .iter()
        .enumerate()
        .map(|(i, env)| (env.clone(), format!("{}.{}[{i}]", sip::SIP, sip::FALLBACK_SECRETS)))
        .collect();
    for (r, env) in registrations.unwrap_or_default().iter().zip(&password_envs) {
        sip_secrets.push((env.clone(), format!("the password of {}", r.key)));
    }
    let mut variables = vec![DEFAULT_API_KEY_ENV.to_string()];
    let mut described =
        vec![(DEFAULT_API_KEY_ENV.to_string(), "the Ultravox API key (the default account.apiKey)".into())];
    let mut sops = None;
    match source {
        SecretSource::Env => {
            for &provider in &present {
                for field in provider.secret_fields() {
                    let name = provider.conventional_env(field);
                    described.push((name.clone(), format!("{provider}.{field}")));
                    variables.push(name);
                }
            }
            for (name, what) in &sip_secrets {
                described.push((name.clone(), what.clone()));
                variables.push(name.clone());
            }
        }
        SecretSource::Sops(file) => {
            let mut keys: Vec<String> =
                present.iter().flat_map(|&p| p.secret_fields().iter().map(move |f| sops_key(file, p, f))).collect();
            keys.extend(sip_secrets.iter().map(|(env, _)| sip_sops_key(file, env)));
            sops = Some(SopsKeys { file: file.display().to_string(), keys });
        }
    }

    let mut text = String::new();
    let mut line = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    line(&format!("# yaml-language-server: $schema={SCHEMA_PATH}"));
    line(&format!("# (for editors: `reconcile schema > {SCHEMA_PATH}` creates it; the path is relative to this file)"));
    line("#");
    match source {
        SecretSource::Sops(file) => {
            // Shown in comments: a control character (a line break) would end the comment, so it is escaped.
            let file = file.display().to_string();
            let shown = crate::clean::printable(&file).into_owned();
            line(
                "# Written by `reconcile import` from the account's telephony config. No secret is in this file, only",
            );
            line("# references to them. The provider secrets are read from the SOPS-encrypted file");
            line(&format!("#   {shown}"));
            line(
                "# (relative to this file's folder; `reconcile plan` decrypts it with `sops` and the keys in the environment).",
            );
            line(&format!(
                "# Put the secrets in it under these keys (`sops edit {shown}` creates or opens it, encrypted to"
            ));
            line("# the recipients of your .sops.yaml):");
            sops_layout(&mut line, &file, &present);
            let names: Vec<&str> = sip_secrets.iter().map(|(env, _)| env.as_str()).collect();
            sip_sops_layout(&mut line, &file, &names);
            line("# and before `reconcile plan`, set this environment variable (in CI, from its secrets):");
            line(&format!("#   {DEFAULT_API_KEY_ENV}  the Ultravox API key (the default account.apiKey)"));
        }
        SecretSource::Env => {
            line(
                "# Written by `reconcile import` from the account's telephony config. No secret is in this file, only",
            );
            line(
                "# references to them: before `reconcile plan`, set these environment variables (in CI, from its secrets):",
            );
            let width = described.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
            for (name, what) in &described {
                // In a comment a line break would end it (a registration's username comes from the account).
                line(&format!("#   {name:width$}  {}", crate::clean::printable(what)));
            }
            line("# A `{ file: PATH }` reference works too, with PATH relative to this file's folder.");
        }
    }
    if !absent.is_empty() {
        let names = join(&absent);
        line("#");
        line(&format!(
            "# Not configured on the account, so left out: {names}. A provider left out is unmanaged: plan and apply"
        ));
        line(&format!(
            "# leave it as it is. Declaring it null (`{}: null`) would instead require that it does not exist.",
            absent[0]
        ));
    }
    line("version: 1");

    let mut notes = Vec::new();
    for &provider in &present {
        if let Some(block) = remote.get(provider) {
            provider_block(&mut text, &mut notes, block, source);
        }
    }
    if let Some(config) = sip_config {
        sip_block(&mut text, &mut notes, config, &fallback_envs, source);
    }
    if let Some(list) = registrations {
        registrations_block(&mut text, &mut notes, list, &password_envs, source);
    }
    Ok(Imported {
        text,
        present,
        sip: sip_config.is_some(),
        registrations: registrations.map(<[RemoteRegistration]>::len),
        absent,
        variables,
        sops,
        notes,
    })
}

/// Whether the SIP config holds only the API's defaults (its domain aside).
fn is_default_sip(sip: &RemoteSip) -> bool {
    sip.allowed_cidr_ranges.is_empty()
        && !sip.allow_all_agents
        && sip.allowed_agents.is_empty()
        && sip.fallback.is_none()
}

/// Each registration's password variable, `SIP_<USERNAME>_PASSWORD`, or with its proxy (`SIP_<USERNAME>_<PROXY>_
/// PASSWORD`) when another registration's name is the same, numbered if even that is taken.
fn password_variables(registrations: &[RemoteRegistration]) -> Vec<String> {
    let plain: Vec<String> = registrations.iter().map(|r| sip::password_env(&r.key.username)).collect();
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (r, name) in registrations.iter().zip(&plain) {
        let shared = plain.iter().filter(|n| *n == name).count() > 1;
        let mut candidate = if shared {
            format!("SIP_{}_{}_PASSWORD", sip::env_word(&r.key.username), sip::env_word(&r.key.proxy))
        } else {
            name.clone()
        };
        let mut n = 2;
        while !taken.insert(candidate.clone()) {
            candidate = format!("{}_{n}", candidate.trim_end_matches(char::is_numeric).trim_end_matches('_'));
            n += 1;
        }
        out.push(candidate);
    }
    out
}

/// The SIP keys the SOPS file must hold, as they are written in it.
fn sip_sops_layout(line: &mut impl FnMut(&str), file: &str, envs: &[&str]) {
    if envs.is_empty() {
        return;
    }
    let yaml = file.ends_with(".yaml") || file.ends_with(".yml");
    if yaml {
        line(&format!("#   {}:", sip::SIP));
    }
    for env in envs {
        line(&if yaml {
            format!("#     {env}: ...")
        } else if is_dotenv(Path::new(file)) {
            format!("#   {env}=...")
        } else {
            format!("#   {}.{env}", sip::SIP)
        });
    }
}

/// `sip:` as the account has it: its domain as a comment, defaults left out, the fallback secrets as references.
fn sip_block(
    text: &mut String,
    notes: &mut Vec<String>,
    config: &RemoteSip,
    fallback_envs: &[String],
    source: &SecretSource,
) {
    let _ = writeln!(text, "{}:", sip::SIP);
    if let Some(domain) = &config.domain {
        // In a comment a line break would end it: shown escaped.
        let shown = crate::clean::printable(domain).into_owned();
        let _ = writeln!(text, "  # domain: {shown} (read-only: the SIP domain trunks send calls to; never written)");
    }
    if !config.allowed_cidr_ranges.is_empty() {
        let _ = writeln!(text, "  {}:", sip::CIDR_RANGES);
        for range in &config.allowed_cidr_ranges {
            let _ = writeln!(text, "    - {}", quote(range));
        }
    }
    if config.allow_all_agents {
        let _ = writeln!(text, "  {}: true", sip::ALLOW_ALL_AGENTS);
    }
    if !config.allowed_agents.is_empty() {
        let _ = writeln!(text, "  {}:", sip::ALLOWED_AGENTS);
        for allowance in &config.allowed_agents {
            let _ = writeln!(text, "    - {}: {}", sip::AGENT_ID, quote(&allowance.agent_id));
            if let Some(pattern) = &allowance.to_user_pattern {
                let _ = writeln!(text, "      {}: {}", sip::TO_USER_PATTERN, quote(pattern));
            }
        }
    }
    if let Some(handler) = &config.fallback {
        let _ = writeln!(text, "  {}:", sip::FALLBACK);
        let _ = writeln!(text, "    {}: {}", sip::URL, quote(&handler.url));
        if fallback_envs.is_empty() {
            notes.push(format!(
                "sip.{}: the account returned no secret for it, so the file leaves `secrets` out: the handler keeps \
                 whatever the account has",
                sip::FALLBACK
            ));
        } else {
            let _ = writeln!(text, "    {}:", sip::SECRETS);
            for env in fallback_envs {
                let _ = writeln!(text, "      - {}", source.sip_reference(env));
            }
        }
    }
}

/// `sipRegistrations:` as the account has them, each password as a reference.
fn registrations_block(
    text: &mut String,
    notes: &mut Vec<String>,
    registrations: &[RemoteRegistration],
    password_envs: &[String],
    source: &SecretSource,
) {
    let _ = writeln!(text, "{}:", sip::REGISTRATIONS);
    for (r, env) in registrations.iter().zip(password_envs) {
        let _ = writeln!(text, "  - {}: {}", sip::USERNAME, quote(&r.key.username));
        let _ = writeln!(text, "    {}: {}", sip::PROXY, quote(&r.key.proxy));
        let _ = writeln!(text, "    {}: {}", sip::PASSWORD, source.sip_reference(env));
        for (field, value) in [(sip::OUTBOUND_PROXY, &r.outbound_proxy), (sip::AUTH_USER, &r.auth_user)] {
            if let Some(value) = value {
                let _ = writeln!(text, "    {field}: {}", quote(value));
            }
        }
        if r.successful == Some(false) {
            notes.push(format!("registration {}: the API reports it as not active", r.key));
        }
    }
    notes.push(format!(
        "{}: the API never shows a registration's password, so `reconcile plan` cannot compare it (it reports it \
         as unverifiable); set each password variable to the registration's password, and `reconcile apply --rotate` \
         sends them",
        sip::REGISTRATIONS
    ));
}

/// The keys the SOPS file must hold, as they are written in it: nested for YAML, `NAME=...` lines for dotenv, dotted
/// paths otherwise (JSON, INI sections).
fn sops_layout(line: &mut impl FnMut(&str), file: &str, present: &[Provider]) {
    let yaml = file.ends_with(".yaml") || file.ends_with(".yml");
    for &provider in present {
        if yaml {
            line(&format!("#   {provider}:"));
        }
        for field in provider.secret_fields() {
            line(&if yaml {
                format!("#     {field}: ...")
            } else if is_dotenv(Path::new(file)) {
                format!("#   {}=...", provider.conventional_env(field))
            } else {
                format!("#   {provider}.{field}")
            });
        }
    }
}

fn provider_block(text: &mut String, notes: &mut Vec<String>, block: &RemoteProvider, source: &SecretSource) {
    let provider = block.provider;
    let _ = writeln!(text, "{provider}:");
    for &field in provider.identifier_fields() {
        match block.identifier(field) {
            Some(value) if !value.is_empty() => {
                let _ = writeln!(text, "  {field}: {}", quote(value));
            }
            _ => {
                let _ = writeln!(text, "  # {field}: the account returned no value; it is required, fill it in");
                notes.push(format!(
                    "{provider}.{field}: the account returned no value, so the file leaves it out; it is required: \
                     fill it in before `reconcile plan`"
                ));
            }
        }
    }
    for &field in provider.secret_fields() {
        let _ = writeln!(text, "  {field}: {}", source.reference(provider, field));
        if block.prefix(field).is_none_or(|p| p.is_empty()) {
            notes.push(format!(
                "{provider}.{field}: the account returned no prefix for it, so `reconcile plan` will report it as \
                 unverifiable (nothing proves the value you set matches); `reconcile apply --rotate` sends it"
            ));
        }
    }
    let settings = &block.settings;
    if !settings.allowed_agent_ids.is_empty() {
        let _ = writeln!(text, "  {}:", provider::AGENT_IDS);
        for id in &settings.allowed_agent_ids {
            let _ = writeln!(text, "    - {}", quote(id));
        }
    }
    if settings.allow_all_agents {
        let _ = writeln!(text, "  {}: true", provider::ALLOW_ALL);
    }
    if !settings.request_context_mapping.is_empty() {
        let _ = writeln!(text, "  {}:", provider::CONTEXT_MAPPING);
        for (from, to) in &settings.request_context_mapping {
            let _ = writeln!(text, "    {}: {}", quote(from), quote(to));
        }
    }
}

/// Checks the rendered text with the file's own rules, as if it were at `path`; answers the problems' count. An
/// account can hold what the file's rules reject (an agent list beside `callCreationAllowAllAgents: true`, a missing
/// identifier): the file is still written, as a start, and the user is told to run `reconcile validate`.
pub fn problems(imported: &Imported, path: &Path) -> usize {
    match config::from_source(path, imported.text.clone()) {
        Ok(_) => 0,
        Err(e) => e.diagnostics.len().max(1),
    }
}

/// A YAML double-quoted scalar holding exactly `s`. Characters YAML does not allow as they are (controls, DEL, C1,
/// the Unicode line separators, BOM, non-characters), and the invisible ones a terminal would hide (zero-width,
/// bidirectional controls), are escaped, so that no parser can read another value and a reader sees every character.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if plain_in_quotes(c) && !crate::clean::is_hidden(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn plain_in_quotes(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{2027}' | '\u{202A}'..='\u{D7FF}' | '\u{E000}'..='\u{FEFE}'
        | '\u{FF00}'..='\u{FFFD}' | '\u{10000}'..)
}

fn join(providers: &[Provider]) -> String {
    providers.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
}

/// Whether something (a file, a folder, even a dangling link) is at `path`.
fn occupied(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Refuses an existing destination without `force`; checked before anything is read from the account.
pub fn check_destination(path: &Path, force: bool) -> Result<(), ImportError> {
    if !force && occupied(path) {
        return Err(ImportError::Exists { path: path.display().to_string() });
    }
    Ok(())
}

/// Writes `text` to `path` through the one atomic writer ([`crate::files`]); an existing file is replaced only
/// with `force`, and never a link, a device or a FIFO.
pub fn write_file(path: &Path, text: &str, force: bool) -> Result<(), ImportError> {
    use crate::files::WriteError;
    crate::files::write_atomic(path, text, force, &[]).map_err(|e| match e {
        WriteError::Exists { path } => ImportError::Exists { path },
        other @ (WriteError::Protected { .. } | WriteError::NotRegular { .. }) => {
            ImportError::Write { path: path.display().to_string(), reason: other.to_string() }
        }
        WriteError::Io { path, reason } => ImportError::Write { path, reason },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::state::{RemotePrefix, Settings};

    fn remote(provider: Provider, identifiers: &[(&str, &str)], settings: Settings) -> RemoteProvider {
        RemoteProvider {
            provider,
            identifiers: identifiers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            prefixes: provider
                .secret_fields()
                .iter()
                .map(|f| (f.to_string(), Some(RemotePrefix::new("PFX".into()))))
                .collect(),
            settings,
        }
    }

    #[test]
    fn twilio_only_account_renders_a_valid_file_leaving_the_others_unmanaged() {
        let mut state = RemoteState::default();
        state.providers[0] = Some(remote(
            Provider::Twilio,
            &[("accountSid", "AC1")],
            Settings {
                allowed_agent_ids: vec!["3c90c3cc-0d44-4b50-8888-8dd25736052a".into()],
                allow_all_agents: false,
                request_context_mapping: BTreeMap::from([("From".into(), "user.phone_number".into())]),
            },
        ));
        let imported = starting_file(&state, &SecretSource::Env).unwrap();
        assert_eq!(imported.present, vec![Provider::Twilio]);
        assert_eq!(imported.absent, vec![Provider::Telnyx, Provider::Plivo]);
        assert_eq!(imported.variables, vec!["ULTRAVOX_API_KEY", "TWILIO_AUTH_TOKEN"]);
        assert!(imported.notes.is_empty());
        assert!(imported.text.ends_with(
            "version: 1\ntwilio:\n  accountSid: \"AC1\"\n  authToken: { env: TWILIO_AUTH_TOKEN }\n  \
             callCreationAllowedAgentIds:\n    - \"3c90c3cc-0d44-4b50-8888-8dd25736052a\"\n  \
             requestContextMapping:\n    \"From\": \"user.phone_number\"\n"
        ));
        assert!(!imported.text.contains("PFX"));
        assert!(!imported.text.contains("TELNYX_"), "only referenced variables are listed");
        assert!(imported.text.contains("`telnyx: null`"));
        let config = config::from_source(Path::new("telephony.yaml"), imported.text.clone()).unwrap();
        assert_eq!(config.declaration(Provider::Telnyx), &config::model::Declaration::Unmanaged);
        assert_eq!(problems(&imported, Path::new("telephony.yaml")), 0);
    }

    #[test]
    fn empty_account_is_refused() {
        assert!(matches!(
            starting_file(&RemoteState::default(), &SecretSource::Env),
            Err(ImportError::NothingToImport)
        ));
    }

    #[test]
    fn what_the_rules_reject_is_noted_and_counted() {
        let mut state = RemoteState::default();
        let mut block = remote(
            Provider::Plivo,
            &[],
            Settings {
                allowed_agent_ids: vec!["3c90c3cc-0d44-4b50-8888-8dd25736052a".into()],
                allow_all_agents: true,
                request_context_mapping: BTreeMap::new(),
            },
        );
        block.prefixes.insert("authToken".into(), None);
        state.providers[2] = Some(block);
        let imported = starting_file(&state, &SecretSource::Env).unwrap();
        assert_eq!(imported.notes.len(), 2, "{:?}", imported.notes);
        assert!(imported.notes[0].starts_with("plivo.authId: the account returned no value"));
        assert!(imported.notes[1].starts_with("plivo.authToken: the account returned no prefix"));
        assert!(problems(&imported, Path::new("telephony.yaml")) >= 2);
    }

    #[test]
    fn sip_settings_are_written_with_their_secrets_as_named_references() {
        use crate::sip::{Allowance, RegistrationKey};
        use crate::state::{RemoteFallback, RemoteRegistration, RemoteSecret, RemoteSip};
        let registration = |id: &str, user: &str, proxy: &str| RemoteRegistration {
            id: id.into(),
            key: RegistrationKey::new(user, proxy),
            outbound_proxy: None,
            auth_user: None,
            successful: Some(true),
        };
        let state = RemoteState {
            sip: Some(RemoteSip {
                allowed_cidr_ranges: vec!["10.0.0.0/8".into()],
                allowed_agents: vec![Allowance::new("3c90c3cc-0d44-4b50-8888-8dd25736052a", None)],
                fallback: Some(RemoteFallback {
                    url: "https://h.example.com".into(),
                    secrets: vec![RemoteSecret::new(SecretString::from("SECRETvalue1".to_string())); 2],
                }),
                domain: Some("d.sip.example.com".into()),
                ..RemoteSip::default()
            }),
            // The same username on two proxies, and a username with a line break (the account can hold anything).
            registrations: Some(vec![
                registration("r1", "alice", "a.example.com"),
                registration("r2", "alice", "b.example.com"),
                registration("r3", "evil\nsip: null", "c.example.com"),
            ]),
            ..RemoteState::default()
        };
        let imported = starting_file(&state, &SecretSource::Env).unwrap();
        assert_eq!(
            imported.variables,
            [
                "ULTRAVOX_API_KEY",
                "SIP_FALLBACK_SECRET",
                "SIP_FALLBACK_SECRET_2",
                "SIP_ALICE_A_EXAMPLE_COM_PASSWORD",
                "SIP_ALICE_B_EXAMPLE_COM_PASSWORD",
                "SIP_EVIL_SIP__NULL_PASSWORD"
            ]
        );
        assert!(!imported.text.contains("SECRETvalue1"));
        assert!(imported.text.contains("  # domain: d.sip.example.com (read-only"), "{}", imported.text);
        // The value is written exactly (the file's rules then refuse its line break, and import says so), and the
        // header's comment stays a comment.
        let read: serde_json::Value = serde_saphyr::from_str(&imported.text).unwrap();
        assert_eq!(read["sipRegistrations"][2]["username"], "evil\nsip: null", "read back exactly");
        assert_eq!(read["sip"]["fallbackHandler"]["secrets"].as_array().unwrap().len(), 2);
        assert!(read.get("sip").is_some_and(|sip| !sip.is_null()), "no line of the header became a key");
        let err = config::from_source(Path::new("telephony.yaml"), imported.text.clone()).unwrap_err();
        assert_eq!(err.diagnostics.len(), 1, "{err}");
        assert_eq!(err.diagnostics[0].path, "sipRegistrations[2].username");
        assert_eq!(problems(&imported, Path::new("telephony.yaml")), 1);
        assert_eq!(imported.present, Vec::<Provider>::new());
    }

    #[test]
    fn a_value_holding_a_secret_of_the_run_stops_the_import_and_names_the_field() {
        crate::redact::register_secret(&SecretString::from("imp0rt-api-key-77".to_string()));
        let mut state = RemoteState::default();
        let mapping = BTreeMap::from([("From".to_string(), "user.phone_number".to_string())]);
        state.providers[0] = Some(remote(
            Provider::Twilio,
            &[("accountSid", "AC1")],
            Settings { request_context_mapping: mapping.clone(), ..Settings::default() },
        ));
        state.providers[1] = Some(remote(
            Provider::Telnyx,
            &[("accountSid", "a"), ("applicationSid", "x-imp0rt-api-key")],
            Settings::default(),
        ));
        match starting_file(&state, &SecretSource::Env) {
            Err(e @ ImportError::HoldsSecret { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "the account's telnyx.applicationSid holds part of the Ultravox API key this run read; the file \
                     would put it in git, so nothing was written"
                );
            }
            other => panic!("{other:?}"),
        }
        // Values that only look like prefixes (`user`, groups of agent IDs) are data: written exactly.
        state.providers[1] = None;
        let imported = starting_file(&state, &SecretSource::Env).unwrap();
        assert!(imported.text.contains("\"From\": \"user.phone_number\""), "{}", imported.text);
    }

    #[test]
    fn quoting_escapes_what_yaml_does_not_allow_bare() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("x\ny\t\u{7f}\u{85}\u{2028}\u{feff}"), r#""x\ny\t\u007F\u0085\u2028\uFEFF""#);
        assert_eq!(quote("é 🎉 #: - [x]"), "\"é 🎉 #: - [x]\"");
        assert_eq!(quote("a\u{200b}b\u{202e}c\u{2066}"), r#""a\u200Bb\u202Ec\u2066""#);
    }

    proptest! {
        #[test]
        fn quoted_strings_read_back_exactly(value in any::<String>(), key in "[^\u{0}]{1,8}") {
            let yaml = format!("{}: {}\n", quote(&key), quote(&value));
            let read: BTreeMap<String, String> = serde_saphyr::from_str(&yaml).unwrap();
            prop_assert_eq!(read, BTreeMap::from([(key, value)]));
        }
    }

    #[test]
    fn write_refuses_an_existing_file_without_force_and_replaces_it_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telephony.yaml");
        write_file(&path, "one\n", false).unwrap();
        assert!(matches!(write_file(&path, "two\n", false), Err(ImportError::Exists { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        write_file(&path, "two\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let missing = dir.path().join("no/such/folder.yaml");
        assert!(matches!(write_file(&missing, "x", true), Err(ImportError::Write { .. })));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("telephony.yaml")], "no temporary file is left behind");
    }
}
