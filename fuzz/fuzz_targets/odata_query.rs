//! The monitoring API's query language on arbitrary text: as a query string (every option, for
//! every entity set and scope), as a bare `$filter`, and as a resource path. Each is parsed or
//! refused with a `QueryError`, never a panic; a filter that parses is evaluated in memory too.

#![no_main]

use iflowd::odata::eval::Value;
use iflowd::odata::schema::{
    INTEGRATION_RUNTIME_ARTIFACT, MESSAGE_PROCESSING_LOG, SERVICE_ENDPOINT,
};
use iflowd::odata::{QueryOptions, Scope, filter, path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for schema in [
        &MESSAGE_PROCESSING_LOG,
        &INTEGRATION_RUNTIME_ARTIFACT,
        &SERVICE_ENDPOINT,
    ] {
        for scope in [Scope::Collection, Scope::Entry, Scope::Value] {
            if let Ok(QueryOptions {
                filter: Some(expr), ..
            }) = QueryOptions::parse(Some(text), schema, scope)
            {
                expr.matches(&|_| Value::Null);
            }
        }
    }
    // A bare `$filter`, so the fuzzer need not find `$filter=` first.
    if let Ok(expr) = filter::parse(text, &MESSAGE_PROCESSING_LOG) {
        expr.matches(&|_| Value::Null);
        expr.matches(&|_| Value::Text("COMPLETED"));
    }
    let _ = path::parse(text);
});
