//! The `reconcile` binary: parse the command line, run it, map the result to an exit code
//! (0 success, 1 any error or refusal, 2 changes under `plan --detailed-exitcode`).

use std::process::ExitCode;

use clap::Parser;
use reconcile::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit 1, not clap's 2: exit code 2 means "the plan has changes".
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let (out, result) = cli::run(cli);
    let code = match result {
        // A run stopped by a signal ends with exit code 1, whatever it had done (each file said what).
        Ok(_) if reconcile::stop::requested().is_some() => ExitCode::from(1),
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ChangesPresent) => ExitCode::from(2),
        // Each failure was reported under its file.
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(error) => {
            cli::report(&out, &error);
            return ExitCode::from(1);
        }
    };
    // A full disk under stdout is an error (a closed pipe, as with `| head`, is not).
    if let Some(reason) = reconcile::render::stdout_failure() {
        out.error(
            &format!("cannot write to standard output: {reason}"),
            Some("free space or redirect stdout elsewhere; what was sent to the account (if anything) stands"),
        );
        return ExitCode::from(1);
    }
    code
}
