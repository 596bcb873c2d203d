//! `plan`: each file's account fetched and its plan shown (GET only), at most `--jobs` accounts at once; with
//! `--out`, one saved plan covering every file, written only when every file could be planned.

use std::path::{Path, PathBuf};

use crate::batch;
use crate::diff::PlanOptions;
use crate::error::{Error, Outcome};
use crate::planfile::{self, PlanFile};
use crate::render::{Output, report};
use crate::selection;

use super::reporter::{Command, FileDone, Reporter};
use super::run::{Api, Notices, Planned, load_all};
use super::{PlanSettings, Settings};

pub async fn plan(settings: &Settings, s: &PlanSettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = plan_files(settings, s, out, &notices).await;
    notices.warn(out);
    result
}

async fn plan_files(settings: &Settings, s: &PlanSettings, out: Output, notices: &Notices) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let loaded = load_all(&selection)?;
    let api = Api::new(settings, notices)?;
    let mut reporter = Reporter::new(out, s.format, selection.several, Command::Plan);
    // No file the run reads (any declaration file, any secret file) may be overwritten by the saved plan.
    let protected: Vec<(PathBuf, String)> =
        loaded.iter().filter_map(|(_, l)| l.as_ref().ok()).flat_map(|l| l.config.protected_files()).collect();
    let options = PlanOptions { rotate: s.rotate };
    let mut saved = Vec::new();
    let (api, sinks) = (&api, reporter.sinks());
    batch::in_order(
        loaded,
        settings.jobs,
        |(path, file)| async move {
            let result = api.plan(file, options).await.map(|Planned { session, remote, plan }| {
                let saved = s.out.is_some().then(|| session.saved(api, &remote, &plan));
                FileDone { plan, written: None, saved }
            });
            (path, result)
        },
        |(path, mut result): (PathBuf, Result<FileDone, Error>)| {
            if let Ok(done) = &mut result {
                saved.extend(done.saved.take());
            }
            reporter.file(&path.display().to_string(), sinks.buffer(), result, true);
        },
    )
    .await;
    let finished = reporter.finish();
    if let Some(path) = &s.out {
        if finished.all_ok() {
            save(path, saved, &protected)?;
            out.status(&report::saved_plan(path));
        } else {
            finished.not_saved(path);
        }
    }
    finished.outcome(s.detailed_exitcode)
}

fn save(path: &Path, plans: Vec<PlanFile>, protected: &[(PathBuf, String)]) -> Result<(), Error> {
    Ok(planfile::write_all(path, plans, protected)?)
}
