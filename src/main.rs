use std::process::ExitCode;

use qstream::cli::Command;
use qstream::config::ProcessEnv;
use qstream::settings::{self, Failure};

fn main() -> ExitCode {
    // Which streams are terminals, before any error line is written.
    qstream::sink::stdio::init();
    let settings = match settings::load(std::env::args_os(), &ProcessEnv) {
        Ok(settings) => settings,
        Err(Failure::Args(e)) => e.exit(),
        Err(Failure::Settings(e)) => {
            qstream::sink::stdio::line(&format!("qstream: {e}"));
            return ExitCode::from(e.exit.code());
        }
    };
    match settings.cli.command {
        Some(Command::Config { action }) => {
            match qstream::commands::config::run(action, &settings, &ProcessEnv) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.is_quiet() => ExitCode::SUCCESS,
                Err(e) => {
                    qstream::sink::stdio::line(&format!("qstream: {e}"));
                    ExitCode::from(e.exit.code())
                }
            }
        }
        None => ExitCode::from(qstream::main_with_args(settings.cli)),
    }
}
