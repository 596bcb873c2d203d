//! `import`: the account's config read (its telephony config, its SIP config and every page of its SIP
//! registrations), written as a starting `telephony.yaml` (secrets only as references), from one account to one file.

use std::path::{Path, PathBuf};

use crate::api::ApiError;
use crate::error::{Error, Outcome};
use crate::import;
use crate::render::{Output, report};
use crate::selection::DEFAULT_FILE;

use super::run::{Api, Notices};
use super::{ImportSettings, Settings};

/// `import`: one GET of the account's config, written as a starting file (secrets only as references).
pub async fn import(settings: &Settings, s: &ImportSettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = import_file(settings, s, out, &notices).await;
    notices.warn(out);
    result
}

async fn import_file(
    settings: &Settings,
    s: &ImportSettings,
    out: Output,
    notices: &Notices,
) -> Result<Outcome, Error> {
    if settings.files.len() > 1 {
        return Err(Error::ImportSeveral { count: settings.files.len() });
    }
    let file = settings.files.first().cloned().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    if s.out.is_none() && file.is_dir() {
        return Err(Error::ImportFolder { path: file.display().to_string() });
    }
    let dest = match &s.out {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => Some(file),
    };
    if let Some(path) = &dest {
        import::check_destination(path, s.force)?;
    }
    let api_key = import::api_key()?;
    crate::redact::register_secret(&api_key);
    let api = Api::new(settings, notices)?;
    let client = api.client(api_key);
    let (telephony, (sip, registrations)) =
        tokio::join!(crate::apply::read(&client, api.family), crate::apply::read_sip(&client, true, true));
    notices.note(&client);
    let mut remote = telephony?;
    // A server without the SIP endpoints (a 404 that is not the API's JSON) has no SIP settings to import: the file
    // leaves them out (unmanaged), and says so.
    remote.sip = without_sip(sip, crate::sip::SIP, out)?;
    remote.registrations = without_sip(registrations, crate::sip::REGISTRATIONS, out)?;
    let imported = import::starting_file(&remote, &s.secrets)?;
    match &dest {
        Some(path) => import::write_file(path, &imported.text, s.force)?,
        None => out.document(&imported.text),
    }
    for note in &imported.notes {
        out.warning(note);
    }
    let checked_as = dest.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    let problems = import::problems(&imported, &checked_as);
    if problems > 0 {
        out.warning(&report::import_problems(problems));
    }
    let default_file = dest.as_deref().is_some_and(|p| p == Path::new(DEFAULT_FILE));
    out.status(&report::import_next_steps(&imported, dest.as_deref(), default_file));
    Ok(Outcome::Success)
}

/// A SIP read's result, with a server that has no such endpoint read as nothing to import (warned about): a 404 of
/// any body (the SIP config is a singleton that every account has, so no 404 means "not configured"), a 405 or a
/// 410, as a server without the SIP endpoints, or one that removed them, answers.
fn without_sip<T>(result: Result<Option<T>, ApiError>, what: &str, out: Output) -> Result<Option<T>, ApiError> {
    match result {
        Err(ApiError::NoSuchEndpoint { url, .. }) => {
            out.warning(&report::import_without_sip(what, &url, "HTTP 404 with no API error body"));
            Ok(None)
        }
        Err(ApiError::Status { url, status: status @ (404 | 405 | 410), .. }) => {
            out.warning(&report::import_without_sip(what, &url, &format!("HTTP {status}")));
            Ok(None)
        }
        other => other,
    }
}
