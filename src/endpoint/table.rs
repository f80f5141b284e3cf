//! CPI's path matching.
//!
//! An endpoint at `/cxf/isc/events` also answers `/cxf/isc/events/` and any deeper sub-path
//! (`/cxf/isc/events/v2`), but not `/cxf/isc/eventsX`. When several endpoints match, the longest
//! path wins. HTTPS-adapter paths compare case-insensitively; SOAP paths exactly.

use std::sync::Arc;

use super::Endpoint;
use crate::config::Adapter;

pub struct EndpointTable {
    /// Longest path first, so the first match is the best one.
    endpoints: Vec<Arc<Endpoint>>,
}

impl EndpointTable {
    pub fn new(mut endpoints: Vec<Arc<Endpoint>>) -> Self {
        endpoints.sort_by_key(|e| std::cmp::Reverse(e.path.len()));
        Self { endpoints }
    }

    /// The endpoint that answers `path`, if any.
    pub fn find(&self, path: &str) -> Option<&Arc<Endpoint>> {
        self.endpoints.iter().find(|e| matches(e, path))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.endpoints.iter()
    }
}

fn matches(endpoint: &Endpoint, path: &str) -> bool {
    let Some(head) = path.get(..endpoint.path.len()) else {
        return false;
    };
    let same = match endpoint.adapter {
        Adapter::Soap => head == endpoint.path,
        Adapter::Https => head.eq_ignore_ascii_case(&endpoint.path),
    };
    same && matches!(path.as_bytes().get(endpoint.path.len()), None | Some(b'/'))
}
