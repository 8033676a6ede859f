use std::process::ExitCode;

fn main() -> ExitCode {
    tunedeck::alloc::reuse_large_blocks();
    tunedeck::cli::main()
}
