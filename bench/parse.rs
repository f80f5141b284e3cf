//! Envelope parsing, the CPU work iflowd does per message beyond HTTP.
//!
//! Three measurements on the Change in Manager fixture (`fixtures/change-in-manager.xml`):
//!
//! * `parse/soap_parse`: [`iflowd::soap::parse`] alone, bytes to `ExternalEventRequest`;
//! * `parse/parse_and_recognise`: the same followed by [`Envelope::recognise`] with the default
//!   event types, which is what a request costs before the handler chain runs;
//! * `parse/nsreader_alone`: for scale, quick-xml's `NsReader` reading every event.
//!
//! Criterion reports the time per message and, because the group's throughput is the envelope's
//! size, a throughput in MB/s (decimal): µs per KB (1000 bytes) = 1000 / that figure.
//!
//! ```text
//! cargo bench --bench parse
//! ```
//! See `bench/README.md` for the target and how to read the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iflowd::event::{Envelope, EventTypes};

/// The allocator the `iflowd` binary uses (`src/main.rs`), so that the parse is measured as it
/// runs in the server: every parse grows a new namespace resolver's buffers, and glibc's
/// `realloc` made that a tenth of a parse here, mimalloc's much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIXTURE: &[u8] = include_bytes!("../fixtures/change-in-manager.xml");

fn parse(c: &mut Criterion) {
    let types = EventTypes::default();
    // Fail loudly rather than measure an error path.
    let request = iflowd::soap::parse(FIXTURE).expect("the fixture parses");
    let envelope = Envelope::recognise(request, &types);
    assert_eq!(envelope.events.len(), 1, "the fixture carries one event");

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::BytesDecimal(FIXTURE.len() as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("soap_parse", |b| {
        b.iter(|| iflowd::soap::parse(black_box(FIXTURE)))
    });
    group.bench_function("parse_and_recognise", |b| {
        b.iter(|| {
            let request = iflowd::soap::parse(black_box(FIXTURE)).expect("parses");
            Envelope::recognise(request, black_box(&types))
        })
    });
    // For scale: quick-xml's namespace-aware reader alone, reading every event of the fixture
    // and doing nothing with them, configured as `soap::parse` configures its reader (empty
    // elements expanded, end names checked, whitespace between tags passed over). A yardstick,
    // not a floor: `soap::parse` drives quick-xml's `Reader` and resolver itself and skips the
    // scope `NsReader` opens for every tag.
    group.bench_function("nsreader_alone", |b| {
        b.iter(|| nsreader_events(black_box(FIXTURE)))
    });
    group.finish();
}

/// The number of events `NsReader` reads from `xml`. Not inlined, so that a profile shows it.
#[inline(never)]
fn nsreader_events(xml: &[u8]) -> usize {
    let text = std::str::from_utf8(xml).expect("UTF-8");
    let mut reader = quick_xml::NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text_start = true;
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(err) => panic!("the fixture is well-formed: {err}"),
        }
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
