//! `apply`: each file planned afresh and written, or a saved plan (`apply PLANFILE`) checked whole and then written
//! exactly. Without `--auto-approve`, every plan is shown first and one question asked; off a terminal, apply
//! refuses before any request.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::batch;
use crate::diff::PlanOptions;
use crate::endpoints::Family;
use crate::error::{ApplyFailed, Error, Outcome};
use crate::plan::Plan;
use crate::planfile::{self, PlanFile, StaleError};
use crate::render::json::{ErrorReport, FailedFile, FileEntry, PlanDocument, SeveralDocument};
use crate::render::{self, Format, Output, Sink, report};
use crate::selection;

use super::reporter::{Command, FileDone, Reporter, Shown};
use super::run::{Api, Loaded, Notices, Planned, Session, check_accounts, load, load_all};
use super::{ApplySettings, Settings};

pub async fn apply(settings: &Settings, s: &ApplySettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = match &s.planfile {
        Some(path) => apply_saved(settings, s, path, out, &notices).await,
        None => apply_files(settings, s, out, &notices).await,
    };
    notices.warn(out);
    result
}

/// A file whose plan is made (and checked, for a saved plan), ready to be written.
struct Ready {
    session: Session,
    plan: Plan,
}

async fn apply_files(settings: &Settings, s: &ApplySettings, out: Output, notices: &Notices) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let loaded = load_all(&selection)?;
    // Off a terminal, nothing is asked and nothing is sent; unless no file could be read at all, whose errors say
    // more than the refusal.
    if !s.auto_approve && !std::io::stdin().is_terminal() && loaded.iter().any(|(_, l)| l.is_ok()) {
        return Err(Error::NotATerminal);
    }
    let api = Api::new(settings, notices)?;
    let options = PlanOptions { rotate: s.rotate };
    let mut reporter = Reporter::new(out, s.format, selection.several, Command::Apply);
    let (api, shown, sinks) = (&api, reporter.shown(), reporter.sinks());
    if s.auto_approve {
        // Each file: plan, show, write, report; the files go on independently.
        batch::in_order(
            loaded,
            settings.jobs,
            |(path, file)| async move {
                let mut sink = sinks.buffer();
                let result = plan_and_write(api, file, options, shown, &mut sink).await;
                (path, sink, result)
            },
            |(path, sink, result): (PathBuf, _, _)| reporter.file(&path.display().to_string(), sink, result, false),
        )
        .await;
        return reporter.finish().outcome(false);
    }

    // Interactive: every plan first, one question, then the writes.
    let mut ready = Vec::new();
    batch::in_order(
        loaded,
        settings.jobs,
        |(path, file)| async move {
            let result = api.plan(file, options).await.map(|Planned { session, plan, .. }| Ready { session, plan });
            (path, result)
        },
        |(path, result): (PathBuf, Result<Ready, Error>)| match result {
            Ok(r) => {
                reporter.before_question(&r.session.name(), &r.plan);
                ready.push(r);
            }
            Err(e) => reporter.file(&path.display().to_string(), sinks.buffer(), Err(e), false),
        },
    )
    .await;
    // After a signal nothing is asked: each file's write reports that it was not sent.
    if ready.iter().any(|r| !r.plan.is_empty()) && crate::stop::requested().is_none() {
        // Nothing is in flight while the question waits: a signal ends the run there and then.
        let answer = {
            let _at_once = crate::stop::exit_at_once("apply cancelled; no write was sent");
            out.ask(&report::confirm_question(ready.len()))
        };
        if answer.as_deref() != Some("yes") {
            return Err(Error::Cancelled);
        }
    }
    write_ready(ready, settings.jobs, true, reporter).await
}

/// The tail of every apply, once each file's plan is made (and shown, when `plan_on_screen`): the files written in
/// file order, at most `jobs` at once, each reported in its turn.
async fn write_ready(
    ready: Vec<Ready>,
    jobs: usize,
    plan_on_screen: bool,
    mut reporter: Reporter,
) -> Result<Outcome, Error> {
    let (shown, sinks) = (reporter.shown(), reporter.sinks());
    batch::in_order(
        ready,
        jobs,
        |r| async move {
            let name = r.session.name();
            let mut sink = sinks.buffer();
            let result = write(r, shown, plan_on_screen, &mut sink).await;
            (name, sink, result)
        },
        |(name, sink, result)| reporter.file(&name, sink, result, false),
    )
    .await;
    reporter.finish().outcome(false)
}

/// One file of `apply --auto-approve`: plan, then [`write`].
async fn plan_and_write(
    api: &Api,
    file: Result<Loaded, Error>,
    options: PlanOptions,
    shown: Shown,
    sink: &mut dyn Sink,
) -> Result<FileDone, Error> {
    let Planned { session, plan, .. } = api.plan(file, options).await?;
    write(Ready { session, plan }, shown, false, sink).await
}

/// One file's write: shows the plan (unless it is already on screen), sends the plan's requests, and reports.
async fn write(ready: Ready, shown: Shown, plan_on_screen: bool, sink: &mut dyn Sink) -> Result<FileDone, Error> {
    let Ready { session, plan } = ready;
    let name = session.name();
    if plan.is_empty() {
        if let Some(format) = shown {
            if plan_on_screen {
                report::after_apply(sink, &plan, &name, format, &[]);
            } else {
                report::show(sink, &plan, &name, format, Some(&[]));
            }
        }
        return Ok(FileDone { plan, written: Some(Vec::new()), saved: None });
    }
    if let (Some(format), false) = (shown, plan_on_screen) {
        report::before_apply(sink, &plan, &name, format);
    }
    let applied = match crate::apply::apply(&session.client, &plan, &session.file.resolved.desired).await {
        Ok(applied) => applied,
        Err(error) => {
            // `--format json` still prints the plan's document, with the failure in it (with several files, the
            // reporter puts the same document in the run's).
            if shown == Some(Format::Json) {
                sink.document(&render::json::render(&PlanDocument::new(&plan, &name).with_failure(&error)));
            }
            return Err(Error::ApplyFailed(Box::new(ApplyFailed { plan, error })));
        }
    };
    report::warn_unverified(sink, &applied.unverified);
    if let Some(format) = shown {
        report::after_apply(sink, &plan, &name, format, &applied.written);
    }
    Ok(FileDone { plan, written: Some(applied.written), saved: None })
}

/// `apply PLANFILE`: every file the plan covers is checked first (re-read, account fetched, plan made again); if
/// any moved, nothing is sent to any account. Then each is applied exactly as planned, without asking.
async fn apply_saved(
    settings: &Settings,
    s: &ApplySettings,
    path: &Path,
    out: Output,
    notices: &Notices,
) -> Result<Outcome, Error> {
    let saved = planfile::read(path)?;
    let several = saved.len() > 1;
    if !settings.files.is_empty() {
        let given = selection::select(&settings.files)?.files;
        let matches =
            given.len() == saved.len() && given.iter().zip(&saved).all(|(g, p)| same_file(g, Path::new(&p.file)));
        if !matches {
            let list = |names: Vec<String>| names.join(", ");
            return Err(StaleError::OtherFile {
                planned: list(saved.iter().map(|p| p.file.clone()).collect()),
                given: list(given.iter().map(|g| g.display().to_string()).collect()),
            }
            .into());
        }
    }
    // Read and checked before anything is fetched, so that an edit reads as "changed" rather than as a new problem.
    let loaded: Vec<(PlanFile, Result<Loaded, Error>)> = saved
        .into_iter()
        .map(|plan| {
            let file = load_planned(&plan, settings.endpoints);
            (plan, file)
        })
        .collect();
    check_accounts(loaded.iter().filter_map(|(_, l)| l.as_ref().ok()))?;
    let api = Api::new(settings, notices)?;
    let mut ready = Vec::new();
    // Only the files that cannot be applied are named: the rest are not shown until all pass.
    let mut checks = Reporter::new(out, Format::Text, several, Command::Apply);
    // Each file's verdict, in file order, for the JSON document of a refusal (`None`: it could be applied).
    let mut verdicts: Vec<(String, Option<ErrorReport>)> = Vec::new();
    let api_ref = &api;
    batch::in_order(
        loaded,
        settings.jobs,
        |(plan, file)| async move {
            let name = plan.file.clone();
            (name, check_saved(api_ref, plan, file).await)
        },
        |(name, result): (String, Result<Ready, Error>)| match result {
            Ok(r) => {
                checks.passed();
                ready.push(r);
                verdicts.push((name, None));
            }
            Err(e) => {
                verdicts.push((name.clone(), Some(report::error_report(&e))));
                checks.failure_only(&name, e);
            }
        },
    )
    .await;
    if several && s.format == Format::Json && verdicts.iter().any(|(_, v)| v.is_some()) {
        out.document(&render::json::render_several(&refused_document(verdicts)));
    }
    checks.all_passed()?;
    write_ready(ready, settings.jobs, false, Reporter::new(out, s.format, several, Command::Apply)).await
}

/// The JSON document of a saved plan over several files refused whole: one entry per file, in file order, each a
/// failure saying why it was not applied (its own reason, or that another file held the whole plan back).
fn refused_document(verdicts: Vec<(String, Option<ErrorReport>)>) -> SeveralDocument {
    let held_back = || {
        ErrorReport::new(
            "not applied: the saved plan is applied whole or not at all, and another of its files cannot be applied \
             as planned; nothing was sent to this file's account"
                .into(),
            Some("make a new plan (`reconcile plan --out PLANFILE`), review it, and apply that one".into()),
        )
    };
    SeveralDocument::new(
        verdicts
            .into_iter()
            .map(|(file, verdict)| FileEntry::Failed(FailedFile { file, error: verdict.unwrap_or_else(held_back) }))
            .collect(),
    )
}

/// Reads the file a saved plan names, refusing it when its text changed since.
fn load_planned(saved: &PlanFile, endpoints: Option<Family>) -> Result<Loaded, Error> {
    let path = PathBuf::from(&saved.file);
    let changed = |text: &str| planfile::file_digest(text) != saved.file_sha256;
    // Only a regular file, within the cap, is read here; anything else is left for `load` to report, located.
    let text = crate::files::read_regular(&path, crate::config::MAX_FILE_BYTES).ok().map(String::from_utf8);
    if let Some(Ok(text)) = text
        && changed(&text)
    {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if let Some(given) = endpoints.filter(|given| *given != saved.endpoints) {
        return Err(StaleError::OtherFamily { planned: saved.endpoints, given }.into());
    }
    let file = load(&path)?;
    if changed(&file.config.source) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    Ok(file)
}

/// Checks one file of a saved plan against the account as it is now: the plan made again (through the plan's
/// family, with its options) must be the plan saved, requests included.
async fn check_saved(api: &Api, saved: PlanFile, file: Result<Loaded, Error>) -> Result<Ready, Error> {
    let file = file?;
    super::run::not_interrupted()?;
    if api.shown != saved.api_url {
        return Err(StaleError::OtherApi { planned: saved.api_url.clone(), now: api.shown.clone() }.into());
    }
    let mut session = api.session_with(file, saved.endpoints);
    let (remote, plan) = session.fetch_and_plan(PlanOptions { rotate: saved.rotate }).await?;
    if planfile::account_fingerprint(&remote, &session.file.resolved.api_key) != saved.account_fingerprint {
        return Err(StaleError::AccountChanged.into());
    }
    planfile::compare_plans(&saved, &plan, &session.file.resolved.api_key)?;
    // As saved: a registration's ID masked where it holds a secret (the fingerprint pinned the true one).
    if crate::shown::requests(plan.requests()) != saved.requests {
        return Err(StaleError::RequestsChanged.into());
    }
    Ok(Ready { session, plan })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
