use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = qstream::cli::Cli::parse();
    ExitCode::from(qstream::main_with_args(cli))
}
