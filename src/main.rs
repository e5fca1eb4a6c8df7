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
    match &settings.cli.command {
        Some(Command::Config { action }) => report(qstream::commands::config::run(
            *action,
            &settings,
            &ProcessEnv,
        )),
        Some(Command::Log(args)) => report(qstream::commands::log::run(args, &ProcessEnv)),
        Some(Command::Map(args)) => ExitCode::from(qstream::commands::map::main(
            &settings.cli,
            args,
            &ProcessEnv,
        )),
        Some(Command::Batch { action }) => report(qstream::commands::batch::run(
            action,
            &settings.cli,
            &ProcessEnv,
        )),
        None => ExitCode::from(qstream::main_with_args(settings.cli)),
    }
}

/// A subcommand's exit: its error on one stderr line.
fn report(result: qstream::error::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_quiet() => ExitCode::SUCCESS,
        Err(e) => {
            qstream::sink::stdio::line(&format!("qstream: {e}"));
            ExitCode::from(e.exit.code())
        }
    }
}
