//! The `reach` binary: a thin shim into the `api` crate's command line.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
