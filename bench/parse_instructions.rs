//! Instructions per parse, for callgrind: parses and recognises the benchmark envelope N times.
//!
//! Criterion's times on this shared 2-core machine move by more than a parser change does;
//! callgrind's instruction counts do not. Two runs, N = 1000 and N = 2000, and the difference of
//! their totals divided by 1000 is the cost of one parse and recognition, start-up excluded:
//!
//! ```sh
//! cargo build --release --example parse_instructions
//! for n in 1000 2000; do
//!   valgrind --tool=callgrind --callgrind-out-file=bench/out/parse-$n.cg \
//!     target/release/examples/parse_instructions $n
//! done
//! grep -h '^summary' bench/out/parse-1000.cg bench/out/parse-2000.cg   # then (b - a) / 1000
//! ```

use std::hint::black_box;

use iflowd::event::{Envelope, EventTypes};

/// The allocator the `iflowd` binary uses (`src/main.rs`), as in `bench/parse.rs`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIXTURE: &[u8] = include_bytes!("../fixtures/change-in-manager.xml");

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("usage: parse_instructions COUNT");
    let types = EventTypes::default();
    let mut events = 0;
    for _ in 0..count {
        let request = iflowd::soap::parse(black_box(FIXTURE)).expect("the fixture parses");
        events += black_box(Envelope::recognise(request, &types)).events.len();
    }
    assert_eq!(events, count, "one event per envelope");
}
