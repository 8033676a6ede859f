use std::process::ExitCode;

fn main() -> ExitCode {
    tunedeck::cli::main()
}
