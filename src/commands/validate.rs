//! `validate`: every file checked (structure, rules, well-formed references) without reading a secret or using the
//! network; with several files, no two may manage the same provider of one account (told apart by the references
//! their API keys are read from, since no secret is read).

use std::path::Path;

use crate::batch::{self, AccountTag, FileAccount};
use crate::config::{self, model::Declaration};
use crate::error::{Error, Outcome};
use crate::render::{Format, Output, report};
use crate::secret::Reference;
use crate::selection;

use super::Settings;
use super::reporter::{Command, Reporter};
use super::run::manages;

pub fn validate(settings: &Settings, out: Output) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let mut reporter = Reporter::new(out, Format::Text, selection.several, Command::Validate);
    let mut accounts = Vec::new();
    for path in &selection.files {
        match config::load(path) {
            Ok(config) => {
                out.status(&report::valid(path, managed(&config.providers)));
                reporter.passed();
                accounts.push(FileAccount {
                    file: path.display().to_string(),
                    account: reference_tag(&config.api_key.value, &config.base_dir),
                    manages: manages(&config.providers),
                });
            }
            Err(e) => reporter.failure_only(&path.display().to_string(), Error::Config(e)),
        }
    }
    let mut finished = reporter.finish();
    // validate reads no secret: files that read their API key from the same place are the same account.
    finished.valid_summary(batch::check_accounts(&accounts));
    finished.outcome(false)
}

fn managed(providers: &[Declaration; 3]) -> usize {
    providers.iter().filter(|d| !matches!(d, Declaration::Unmanaged)).count()
}

fn reference_tag(reference: &Reference, base_dir: &Path) -> AccountTag {
    AccountTag::Reference(match reference {
        Reference::Env(name) => format!("env:{name}"),
        Reference::File(path) => {
            let full = base_dir.join(path);
            format!("file:{}", full.canonicalize().unwrap_or(full).display())
        }
    })
}
