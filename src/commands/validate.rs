//! `validate`: every file checked (structure, rules, well-formed references) without reading a secret or using the
//! network; with several files, no two may manage the same provider of one account (told apart by the references
//! their API keys are read from, since no secret is read). `--format json` adds a document on stdout.

use std::path::Path;

use crate::batch::{self, AccountTag, FileAccount};
use crate::config;
use crate::error::{Error, Outcome};
use crate::provider::Provider;
use crate::render::json::{self, DiagnosticReport, ValidateDocument, ValidatedFile};
use crate::render::{Format, Output, ValidateFormat, report};
use crate::secret::Reference;
use crate::selection;
use crate::sip;

use super::Settings;
use super::reporter::{Command, Reporter};
use super::run::manages;

pub fn validate(settings: &Settings, format: ValidateFormat, out: Output) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let mut reporter = Reporter::new(out, Format::Text, selection.several, Command::Validate);
    let mut accounts = Vec::new();
    let mut files = Vec::new();
    for path in &selection.files {
        let file = path.display().to_string();
        let loaded = match selection.unreadable(path) {
            Some(reason) => Err(config::unreadable_folder(path, reason)),
            None => config::load(path),
        };
        match loaded {
            Ok(config) => {
                let managed: Vec<Provider> =
                    Provider::ALL.into_iter().filter(|p| manages(&config.providers)[p.index()]).collect();
                let sip: Vec<String> =
                    [(config.sip.is_some(), sip::SIP), (config.registrations.is_some(), sip::REGISTRATIONS)]
                        .into_iter()
                        .filter(|(managed, _)| *managed)
                        .map(|(_, key)| key.to_string())
                        .collect();
                out.status(&report::valid(path, managed.len(), &sip));
                reporter.passed();
                accounts.push(FileAccount {
                    file: file.clone(),
                    account: reference_tag(&config.api_key.value, &config.base_dir),
                    manages: manages(&config.providers),
                    manages_sip: config.sip.is_some(),
                    manages_registrations: config.registrations.is_some(),
                });
                files.push(ValidatedFile {
                    file,
                    valid: true,
                    managed: Some(managed),
                    managed_sip: sip,
                    diagnostics: Vec::new(),
                });
            }
            Err(e) => {
                let diagnostics = DiagnosticReport::list(&e);
                let managed_sip = Vec::new();
                files.push(ValidatedFile { file: file.clone(), valid: false, managed: None, managed_sip, diagnostics });
                reporter.failure_only(&file, Error::Config(e));
            }
        }
    }
    // validate reads no secret: files that read their API key from the same place are the same account.
    let same_account = batch::check_accounts(&accounts);
    if format == ValidateFormat::Json {
        let error = same_account.as_ref().err().map(report::error_report);
        out.document(&json::render_validate(&ValidateDocument::new(files, error)));
    }
    let mut finished = reporter.finish();
    finished.valid_summary(same_account);
    finished.outcome(false)
}

fn reference_tag(reference: &Reference, base_dir: &Path) -> AccountTag {
    AccountTag::Reference(reference.place(base_dir))
}
