use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match qstream::cli::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    ExitCode::from(qstream::main_with_args(cli))
}
