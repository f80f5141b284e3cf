//! `$metadata`: the EDMX document, generated from the same schema lists the queries and the
//! JSON use, so it describes exactly what is served.

use std::fmt::Write;

use crate::odata::schema::{
    AUDIT_LOG, CUSTOM_HEADER_PROPERTY, ERROR_INFORMATION, INTEGRATION_PACKAGE,
    INTEGRATION_RUNTIME_ARTIFACT, JMS_BROKER, JMS_QUEUE, KEYSTORE_ENTRY, MESSAGE_PROCESSING_LOG,
    MESSAGE_PROCESSING_LOG_ATTEMPT, MESSAGE_STORE_ENTRY, SERVICE_ENDPOINT, Schema,
};

/// The namespace of the entity types, CPI's.
pub const NAMESPACE: &str = "com.sap.hci.api";

/// Every entity set, as the service document lists them.
pub const ENTITY_SETS: [&str; 12] = [
    "MessageProcessingLogs",
    "MessageProcessingLogErrorInformations",
    "MessageStoreEntries",
    "MessageProcessingLogCustomHeaderProperties",
    "MessageProcessingLogAttempts",
    "IntegrationRuntimeArtifacts",
    "ServiceEndpoints",
    "IntegrationPackages",
    "KeystoreEntries",
    "AuditLogs",
    "JmsBrokers",
    "JmsQueues",
];

/// Every entity type: its schema, its key, whether it has a stream (`$value`), and its
/// navigations (name, the association's target role).
const TYPES: [(&Schema, &str, bool, &[&str]); 12] = [
    (
        &MESSAGE_PROCESSING_LOG,
        "MessageGuid",
        false,
        &[
            "ErrorInformation",
            "MessageStoreEntries",
            "CustomHeaderProperties",
            "Attempts",
        ],
    ),
    (&ERROR_INFORMATION, "MessageGuid", true, &[]),
    (&MESSAGE_STORE_ENTRY, "Id", true, &[]),
    (&CUSTOM_HEADER_PROPERTY, "Id", false, &[]),
    (&MESSAGE_PROCESSING_LOG_ATTEMPT, "Id", false, &[]),
    (&INTEGRATION_RUNTIME_ARTIFACT, "Id", false, &[]),
    (&SERVICE_ENDPOINT, "Id", false, &[]),
    (&INTEGRATION_PACKAGE, "Id", false, &[]),
    (&KEYSTORE_ENTRY, "Hexalias", false, &[]),
    (&AUDIT_LOG, "ChangeId", false, &[]),
    (&JMS_BROKER, "Key", false, &["Queues"]),
    (&JMS_QUEUE, "Name", false, &[]),
];

/// The navigations: source type and set, name, target type, multiplicity, target set.
const NAVIGATIONS: [(&str, &str, &str, &str, &str, &str); 5] = [
    (
        "MessageProcessingLog",
        "MessageProcessingLogs",
        "ErrorInformation",
        "MessageProcessingLogErrorInformation",
        "0..1",
        "MessageProcessingLogErrorInformations",
    ),
    (
        "MessageProcessingLog",
        "MessageProcessingLogs",
        "MessageStoreEntries",
        "MessageStoreEntry",
        "*",
        "MessageStoreEntries",
    ),
    (
        "MessageProcessingLog",
        "MessageProcessingLogs",
        "CustomHeaderProperties",
        "MessageProcessingLogCustomHeaderProperty",
        "*",
        "MessageProcessingLogCustomHeaderProperties",
    ),
    (
        "MessageProcessingLog",
        "MessageProcessingLogs",
        "Attempts",
        "MessageProcessingLogAttempt",
        "*",
        "MessageProcessingLogAttempts",
    ),
    (
        "JmsBroker",
        "JmsBrokers",
        "Queues",
        "JmsQueue",
        "*",
        "JmsQueues",
    ),
];

/// Entity type names, by entity set.
pub fn type_name(schema: &Schema) -> &'static str {
    match schema.set {
        "MessageProcessingLogs" => "MessageProcessingLog",
        "MessageProcessingLogErrorInformations" => "MessageProcessingLogErrorInformation",
        "MessageStoreEntries" => "MessageStoreEntry",
        "MessageProcessingLogCustomHeaderProperties" => "MessageProcessingLogCustomHeaderProperty",
        "MessageProcessingLogAttempts" => "MessageProcessingLogAttempt",
        "IntegrationRuntimeArtifacts" => "IntegrationRuntimeArtifact",
        "IntegrationPackages" => "IntegrationPackage",
        "KeystoreEntries" => "KeystoreEntry",
        "AuditLogs" => "AuditLog",
        "JmsBrokers" => "JmsBroker",
        "JmsQueues" => "JmsQueue",
        _ => "ServiceEndpoint",
    }
}

fn entity_type(out: &mut String, schema: &Schema, key: &str, stream: bool, navigations: &[&str]) {
    let stream = if stream { r#" m:HasStream="true""# } else { "" };
    let _ = write!(
        out,
        r#"<EntityType Name="{}"{stream}><Key><PropertyRef Name="{key}"/></Key>"#,
        type_name(schema)
    );
    for name in schema.properties {
        match schema.field(name) {
            Some(field) => {
                let _ = write!(
                    out,
                    r#"<Property Name="{name}" Type="{}" Nullable="{}"/>"#,
                    field.kind.edm(),
                    field.nullable
                );
            }
            // A complex property: its fields are `Name/...`.
            None => {
                let _ = write!(
                    out,
                    r#"<Property Name="{name}" Type="{NAMESPACE}.{name}" Nullable="false"/>"#
                );
            }
        }
    }
    let from = type_name(schema);
    for name in navigations {
        let _ = write!(
            out,
            r#"<NavigationProperty Name="{name}" Relationship="{NAMESPACE}.{from}_{name}" FromRole="{from}" ToRole="{name}"/>"#
        );
    }
    out.push_str("</EntityType>");
}

/// The associations of the log's navigations, and the container with every set.
fn associations_and_container(out: &mut String) {
    for (from, _, name, target, multiplicity, _) in NAVIGATIONS {
        let _ = write!(
            out,
            concat!(
                r#"<Association Name="{from}_{name}">"#,
                r#"<End Type="{ns}.{from}" Multiplicity="1" Role="{from}"/>"#,
                r#"<End Type="{ns}.{target}" Multiplicity="{multiplicity}" Role="{name}"/>"#,
                r#"</Association>"#,
            ),
            ns = NAMESPACE,
            from = from,
            name = name,
            target = target,
            multiplicity = multiplicity,
        );
    }
    out.push_str(r#"<EntityContainer Name="EntityContainer" m:IsDefaultEntityContainer="true">"#);
    for (schema, ..) in TYPES {
        let _ = write!(
            out,
            r#"<EntitySet Name="{}" EntityType="{NAMESPACE}.{}"/>"#,
            schema.set,
            type_name(schema)
        );
    }
    for (from, from_set, name, _, _, set) in NAVIGATIONS {
        let _ = write!(
            out,
            concat!(
                r#"<AssociationSet Name="{from}_{name}" Association="{ns}.{from}_{name}">"#,
                r#"<End EntitySet="{from_set}" Role="{from}"/>"#,
                r#"<End EntitySet="{set}" Role="{name}"/>"#,
                r#"</AssociationSet>"#,
            ),
            ns = NAMESPACE,
            from = from,
            from_set = from_set,
            name = name,
            set = set,
        );
    }
    out.push_str("</EntityContainer>");
}

/// The whole document.
pub fn document() -> String {
    let mut out = String::with_capacity(12 * 1024);
    out.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    out.push_str(r#"<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">"#);
    out.push_str(r#"<edmx:DataServices m:DataServiceVersion="2.0">"#);
    let _ = write!(
        out,
        r#"<Schema Namespace="{NAMESPACE}" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">"#
    );
    for (schema, key, stream, navigations) in TYPES {
        entity_type(&mut out, schema, key, stream, navigations);
    }
    out.push_str(concat!(
        r#"<ComplexType Name="IntegrationArtifact">"#,
        r#"<Property Name="Id" Type="Edm.String" Nullable="false"/>"#,
        r#"<Property Name="Name" Type="Edm.String" Nullable="false"/>"#,
        r#"<Property Name="Type" Type="Edm.String" Nullable="false"/>"#,
        r#"</ComplexType>"#,
    ));
    associations_and_container(&mut out);
    out.push_str("</Schema></edmx:DataServices></edmx:Edmx>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_document_and_metadata_name_the_same_sets() {
        let sets: Vec<&str> = TYPES.iter().map(|(schema, ..)| schema.set).collect();
        let mut listed = ENTITY_SETS.to_vec();
        listed.sort_unstable();
        let mut declared = sets.clone();
        declared.sort_unstable();
        assert_eq!(listed, declared);
        let document = document();
        for set in sets {
            assert!(
                document.contains(&format!(r#"<EntitySet Name="{set}""#)),
                "{set}"
            );
        }
    }
}
