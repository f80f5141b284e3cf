use std::sync::Arc;

use super::*;

fn endpoint(name: &str, adapter: Adapter, address: &str) -> Arc<Endpoint> {
    Arc::new(Endpoint {
        name: Arc::from(name),
        adapter,
        path: crate::config::endpoint_path(adapter, address),
        role: "ESBMessaging.send".into(),
        client_certificates: Vec::new(),
        must_understand: crate::soap::MustUnderstand::Fault,
        chain: Chain::default(),
        delivery: Delivery::Sync,
        retry: RetryConfig::default(),
    })
}

fn table() -> EndpointTable {
    EndpointTable::new(vec![
        endpoint("events", Adapter::Soap, "/isc/events"),
        endpoint("manager", Adapter::Soap, "/isc/events/manager"),
        endpoint("http", Adapter::Https, "/ISC/Hooks/*"),
    ])
}

fn found(path: &str) -> Option<String> {
    table().find(path).map(|e| e.name.to_string())
}

#[test]
fn the_address_and_its_sub_paths_match() {
    assert_eq!(found("/cxf/isc/events").as_deref(), Some("events"));
    assert_eq!(found("/cxf/isc/events/").as_deref(), Some("events"));
    assert_eq!(
        found("/cxf/isc/events/v2/deeper").as_deref(),
        Some("events")
    );
}

#[test]
fn the_longest_configured_address_wins() {
    assert_eq!(found("/cxf/isc/events/manager").as_deref(), Some("manager"));
    assert_eq!(
        found("/cxf/isc/events/manager/x").as_deref(),
        Some("manager")
    );
    assert_eq!(found("/cxf/isc/events/managers").as_deref(), Some("events"));
}

#[test]
fn a_longer_segment_or_the_wrong_prefix_does_not_match() {
    assert_eq!(found("/cxf/isc/eventsX"), None);
    assert_eq!(found("/http/isc/events"), None);
    assert_eq!(found("/isc/events"), None);
    assert_eq!(
        found("/cxf/ISC/events"),
        None,
        "SOAP paths are case-sensitive"
    );
}

#[test]
fn https_addresses_are_case_insensitive() {
    assert_eq!(found("/http/isc/hooks").as_deref(), Some("http"));
    assert_eq!(found("/HTTP/Isc/HOOKS/anything").as_deref(), Some("http"));
}
