use std::io::Write;
use std::process::ExitCode;

use qstream::cli::Command;
use qstream::config::ProcessEnv;
use qstream::settings::{self, Failure};

fn main() -> ExitCode {
    let settings = match settings::load(std::env::args_os(), &ProcessEnv) {
        Ok(settings) => settings,
        Err(Failure::Args(e)) => e.exit(),
        Err(Failure::Settings(e)) => {
            let _ = writeln!(std::io::stderr(), "qstream: {e}");
            return ExitCode::from(e.exit.code());
        }
    };
    match &settings.cli.command {
        Some(Command::Config { action }) => report(qstream::commands::config::run(
            *action,
            &settings,
            &ProcessEnv,
        )),
        Some(Command::Log(args)) => report(qstream::commands::log::run(args, &ProcessEnv)),
        None => ExitCode::from(qstream::main_with_args(settings.cli)),
    }
}

/// A subcommand's exit: its error on one stderr line.
fn report(result: qstream::error::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_quiet() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "qstream: {e}");
            ExitCode::from(e.exit.code())
        }
    }
}
