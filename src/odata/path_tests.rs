//! The resource paths of the monitoring API.

use super::*;

#[test]
fn paths_name_resources() {
    let guid = || "AGabc".to_owned();
    for (path, expected) in [
        ("", Some(Resource::Service)),
        ("$metadata", Some(Resource::Metadata)),
        ("MessageProcessingLogs", Some(Resource::Logs)),
        ("MessageProcessingLogs/", Some(Resource::Logs)),
        ("MessageProcessingLogs/$count", Some(Resource::LogCount)),
        (
            "MessageProcessingLogs('AGabc')",
            Some(Resource::Log(guid())),
        ),
        (
            "MessageProcessingLogs('AGabc')/ErrorInformation/$value",
            Some(Resource::ErrorInformation {
                guid: guid(),
                value: true,
            }),
        ),
        (
            "MessageProcessingLogs('AGabc')/MessageStoreEntries",
            Some(Resource::StoreEntries(guid())),
        ),
        (
            "MessageProcessingLogs('AGabc')/MessageStoreEntries('AGabc.request')/$value",
            Some(Resource::StoreEntry {
                id: "AGabc.request".into(),
                of: Some(guid()),
                value: true,
            }),
        ),
        (
            "MessageStoreEntries('it''s')",
            Some(Resource::StoreEntry {
                id: "it's".into(),
                of: None,
                value: false,
            }),
        ),
        (
            "IntegrationRuntimeArtifacts",
            Some(Resource::Artifacts(None)),
        ),
        (
            "ServiceEndpoints('X')",
            Some(Resource::ServiceEndpoints(Some("X".into()))),
        ),
        (
            "MessageProcessingLogs('AGabc')/Status",
            Some(Resource::Property {
                set: PropertyOf::Logs,
                key: guid(),
                name: "Status",
            }),
        ),
        (
            "ServiceEndpoints('X')/Url",
            Some(Resource::Property {
                set: PropertyOf::ServiceEndpoints,
                key: "X".into(),
                name: "Url",
            }),
        ),
        ("Nothing", None),
        ("MessageProcessingLogs('AGabc')/Statuss", None),
        ("MessageProcessingLogs('AGabc')/Status('x')", None),
        ("MessageStoreEntries('AGabc.request')/ContentType", None),
        (
            "MessageProcessingLogs('AGabc')/Attempts",
            Some(Resource::Attempts(guid())),
        ),
        (
            "MessageProcessingLogAttempts('AGabc.2')",
            Some(Resource::Attempt("AGabc.2".into())),
        ),
        (
            "MessageProcessingLogs('AGabc')/Replay",
            Some(Resource::Replay(guid())),
        ),
        (
            "MessageProcessingLogs('AGabc')/Retry",
            Some(Resource::Retry(guid())),
        ),
        ("MessageProcessingLogs('AGabc')/Replay('x')", None),
        ("MessageProcessingLogs('AGabc')/Nope", None),
    ] {
        assert_eq!(parse(path).unwrap(), expected, "{path}");
    }
    assert!(parse("MessageProcessingLogs(AGabc)").is_err());
    assert!(parse("MessageProcessingLogs('AGabc'").is_err());
    for (set, key, through) in [
        (
            "MessageStoreEntries",
            "('<MessageGuid>.request')",
            "/MessageStoreEntries",
        ),
        (
            "MessageProcessingLogErrorInformations",
            "('<MessageGuid>')",
            "/ErrorInformation",
        ),
        (
            "MessageProcessingLogAttempts",
            "('<MessageGuid>.1')",
            "/Attempts",
        ),
    ] {
        let error = parse(set).unwrap_err().0;
        assert!(
            error.contains(&format!("{set}{key}")) && error.ends_with(through),
            "{error}"
        );
    }
}
