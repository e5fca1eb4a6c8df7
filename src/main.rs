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
    match settings.cli.command {
        Some(Command::Config { action }) => {
            match qstream::commands::config::run(action, &settings, &ProcessEnv) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.is_quiet() => ExitCode::SUCCESS,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "qstream: {e}");
                    ExitCode::from(e.exit.code())
                }
            }
        }
        None => ExitCode::from(qstream::main_with_args(settings.cli)),
    }
}
