//! Envelope parsing, the CPU work iflowd does per message beyond HTTP.
//!
//! Two measurements on the Change in Manager fixture (`fixtures/change-in-manager.xml`):
//!
//! * `parse/soap_parse`: [`iflowd::soap::parse`] alone, bytes to `ExternalEventRequest`;
//! * `parse/parse_and_recognise`: the same followed by [`Envelope::recognise`] with the default
//!   event types, which is what a request costs before the handler chain runs.
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
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
