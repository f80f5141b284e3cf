//! The `iflowd` binary: everything lives in the library; see `iflowd::cli`.

/// mimalloc instead of glibc's allocator: a request allocates and frees many small blocks, and
/// the SQLite writer frees on another thread what requests allocated (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    iflowd::cli::main()
}
