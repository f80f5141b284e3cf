//! The `iflowd` binary: everything lives in the library; see `iflowd::cli`.

fn main() -> std::process::ExitCode {
    iflowd::cli::main()
}
