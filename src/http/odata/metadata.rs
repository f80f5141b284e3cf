//! `$metadata`: the EDMX document, generated from the same schema lists the queries and the
//! JSON use, so it describes exactly what is served.

use std::fmt::Write;

use crate::odata::schema::{
    ERROR_INFORMATION, INTEGRATION_RUNTIME_ARTIFACT, MESSAGE_PROCESSING_LOG, MESSAGE_STORE_ENTRY,
    SERVICE_ENDPOINT, Schema,
};

/// The namespace of the entity types, CPI's.
pub const NAMESPACE: &str = "com.sap.hci.api";

/// Entity type names, by entity set.
pub fn type_name(schema: &Schema) -> &'static str {
    match schema.set {
        "MessageProcessingLogs" => "MessageProcessingLog",
        "MessageProcessingLogErrorInformations" => "MessageProcessingLogErrorInformation",
        "MessageStoreEntries" => "MessageStoreEntry",
        "IntegrationRuntimeArtifacts" => "IntegrationRuntimeArtifact",
        _ => "ServiceEndpoint",
    }
}

fn entity_type(out: &mut String, schema: &Schema, key: &str, stream: bool, navigation: &str) {
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
    out.push_str(navigation);
    out.push_str("</EntityType>");
}

/// The whole document.
pub fn document() -> String {
    let mut out = String::with_capacity(8 * 1024);
    out.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    out.push_str(r#"<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">"#);
    out.push_str(r#"<edmx:DataServices m:DataServiceVersion="2.0">"#);
    let _ = write!(
        out,
        r#"<Schema Namespace="{NAMESPACE}" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">"#
    );
    entity_type(
        &mut out,
        &MESSAGE_PROCESSING_LOG,
        "MessageGuid",
        false,
        &format!(
            concat!(
                r#"<NavigationProperty Name="ErrorInformation" Relationship="{ns}.MessageProcessingLog_ErrorInformation" FromRole="MessageProcessingLog" ToRole="ErrorInformation"/>"#,
                r#"<NavigationProperty Name="MessageStoreEntries" Relationship="{ns}.MessageProcessingLog_MessageStoreEntries" FromRole="MessageProcessingLog" ToRole="MessageStoreEntries"/>"#,
            ),
            ns = NAMESPACE
        ),
    );
    entity_type(&mut out, &ERROR_INFORMATION, "MessageGuid", true, "");
    entity_type(&mut out, &MESSAGE_STORE_ENTRY, "Id", true, "");
    entity_type(&mut out, &INTEGRATION_RUNTIME_ARTIFACT, "Id", false, "");
    entity_type(&mut out, &SERVICE_ENDPOINT, "Id", false, "");
    out.push_str(concat!(
        r#"<ComplexType Name="IntegrationArtifact">"#,
        r#"<Property Name="Id" Type="Edm.String" Nullable="false"/>"#,
        r#"<Property Name="Name" Type="Edm.String" Nullable="false"/>"#,
        r#"<Property Name="Type" Type="Edm.String" Nullable="false"/>"#,
        r#"</ComplexType>"#,
    ));
    let _ = write!(
        out,
        concat!(
            r#"<Association Name="MessageProcessingLog_ErrorInformation">"#,
            r#"<End Type="{ns}.MessageProcessingLog" Multiplicity="1" Role="MessageProcessingLog"/>"#,
            r#"<End Type="{ns}.MessageProcessingLogErrorInformation" Multiplicity="0..1" Role="ErrorInformation"/>"#,
            r#"</Association>"#,
            r#"<Association Name="MessageProcessingLog_MessageStoreEntries">"#,
            r#"<End Type="{ns}.MessageProcessingLog" Multiplicity="1" Role="MessageProcessingLog"/>"#,
            r#"<End Type="{ns}.MessageStoreEntry" Multiplicity="*" Role="MessageStoreEntries"/>"#,
            r#"</Association>"#,
            r#"<EntityContainer Name="EntityContainer" m:IsDefaultEntityContainer="true">"#,
            r#"<EntitySet Name="MessageProcessingLogs" EntityType="{ns}.MessageProcessingLog"/>"#,
            r#"<EntitySet Name="MessageProcessingLogErrorInformations" EntityType="{ns}.MessageProcessingLogErrorInformation"/>"#,
            r#"<EntitySet Name="MessageStoreEntries" EntityType="{ns}.MessageStoreEntry"/>"#,
            r#"<EntitySet Name="IntegrationRuntimeArtifacts" EntityType="{ns}.IntegrationRuntimeArtifact"/>"#,
            r#"<EntitySet Name="ServiceEndpoints" EntityType="{ns}.ServiceEndpoint"/>"#,
            r#"<AssociationSet Name="MessageProcessingLog_ErrorInformation" Association="{ns}.MessageProcessingLog_ErrorInformation">"#,
            r#"<End EntitySet="MessageProcessingLogs" Role="MessageProcessingLog"/>"#,
            r#"<End EntitySet="MessageProcessingLogErrorInformations" Role="ErrorInformation"/>"#,
            r#"</AssociationSet>"#,
            r#"<AssociationSet Name="MessageProcessingLog_MessageStoreEntries" Association="{ns}.MessageProcessingLog_MessageStoreEntries">"#,
            r#"<End EntitySet="MessageProcessingLogs" Role="MessageProcessingLog"/>"#,
            r#"<End EntitySet="MessageStoreEntries" Role="MessageStoreEntries"/>"#,
            r#"</AssociationSet>"#,
            r#"</EntityContainer>"#,
        ),
        ns = NAMESPACE
    );
    out.push_str("</Schema></edmx:DataServices></edmx:Edmx>");
    out
}
