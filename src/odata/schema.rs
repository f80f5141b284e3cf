//! The entity types of the monitoring API: names, properties and their types.
//!
//! One list per entity type, read by the query parser (which properties may be filtered and
//! ordered, and with which literals), by the JSON rendering (`$select`) and by `$metadata`.

/// The type of a property, as `$metadata` declares it and as `$filter` literals must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    /// `Edm.DateTime`: compared with `datetime'2026-01-31T12:00:00'`, shown as `/Date(ms)/`.
    DateTime,
    Int,
    /// `Edm.Int64`: written as a string in JSON, as OData v2 writes 64-bit numbers.
    Int64,
    Boolean,
}

impl Kind {
    pub fn edm(self) -> &'static str {
        match self {
            Self::String => "Edm.String",
            Self::DateTime => "Edm.DateTime",
            Self::Int => "Edm.Int32",
            Self::Int64 => "Edm.Int64",
            Self::Boolean => "Edm.Boolean",
        }
    }
}

/// A property a query may name: a top-level property (`Status`) or a property of a complex
/// property (`IntegrationArtifact/Id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub path: &'static str,
    pub kind: Kind,
    /// May be null (shown as `null`; matches `eq null`).
    pub nullable: bool,
}

const fn field(path: &'static str, kind: Kind, nullable: bool) -> Field {
    Field {
        path,
        kind,
        nullable,
    }
}

/// An entity type as the query options see it.
#[derive(Debug)]
pub struct Schema {
    /// The entity set's name in URLs (`MessageProcessingLogs`).
    pub set: &'static str,
    /// Fields `$filter` and `$orderby` may use.
    pub fields: &'static [Field],
    /// Top-level properties `$select` may name, in the order they are rendered.
    pub properties: &'static [&'static str],
}

impl Schema {
    pub fn field(&self, path: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.path == path)
    }

    pub fn has_property(&self, name: &str) -> bool {
        self.properties.contains(&name)
    }
}

/// `MessageProcessingLogs`: CPI's properties, plus three of iflowd's own (`EventCount`,
/// `Repost`, `OriginalMessageGuid`) for what an ISC event adds to a message.
pub static MESSAGE_PROCESSING_LOG: Schema = Schema {
    set: "MessageProcessingLogs",
    fields: &[
        field("MessageGuid", Kind::String, false),
        field("CorrelationId", Kind::String, false),
        field("ApplicationMessageId", Kind::String, true),
        field("ApplicationMessageType", Kind::String, true),
        field("LogStart", Kind::DateTime, false),
        field("LogEnd", Kind::DateTime, true),
        field("Sender", Kind::String, false),
        field("Receiver", Kind::String, true),
        field("IntegrationFlowName", Kind::String, false),
        field("Status", Kind::String, false),
        field("CustomStatus", Kind::String, false),
        field("LogLevel", Kind::String, false),
        field("TransactionId", Kind::String, false),
        field("IntegrationArtifact/Id", Kind::String, false),
        field("IntegrationArtifact/Name", Kind::String, false),
        field("IntegrationArtifact/Type", Kind::String, false),
        field("EventCount", Kind::Int, true),
        field("Repost", Kind::Boolean, true),
        field("OriginalMessageGuid", Kind::String, true),
    ],
    properties: &[
        "MessageGuid",
        "CorrelationId",
        "ApplicationMessageId",
        "ApplicationMessageType",
        "LogStart",
        "LogEnd",
        "Sender",
        "Receiver",
        "IntegrationFlowName",
        "Status",
        "CustomStatus",
        "LogLevel",
        "TransactionId",
        "IntegrationArtifact",
        "EventCount",
        "Repost",
        "OriginalMessageGuid",
    ],
};

/// `IntegrationRuntimeArtifacts`: one per configured endpoint.
pub static INTEGRATION_RUNTIME_ARTIFACT: Schema = Schema {
    set: "IntegrationRuntimeArtifacts",
    fields: &[
        field("Id", Kind::String, false),
        field("Version", Kind::String, false),
        field("Name", Kind::String, false),
        field("Type", Kind::String, false),
        field("DeployedBy", Kind::String, false),
        field("DeployedOn", Kind::DateTime, false),
        field("Status", Kind::String, false),
    ],
    properties: &[
        "Id",
        "Version",
        "Name",
        "Type",
        "DeployedBy",
        "DeployedOn",
        "Status",
    ],
};

/// `ServiceEndpoints`: the URL and protocol of each endpoint.
pub static SERVICE_ENDPOINT: Schema = Schema {
    set: "ServiceEndpoints",
    fields: &[
        field("Id", Kind::String, false),
        field("Name", Kind::String, false),
        field("Title", Kind::String, false),
        field("Version", Kind::String, false),
        field("Protocol", Kind::String, false),
        field("Url", Kind::String, false),
        field("LastUpdated", Kind::DateTime, false),
    ],
    properties: &[
        "Id",
        "Name",
        "Title",
        "Version",
        "Protocol",
        "Url",
        "LastUpdated",
    ],
};

/// `MessageStoreEntries`: the stored bodies of a message.
pub static MESSAGE_STORE_ENTRY: Schema = Schema {
    set: "MessageStoreEntries",
    fields: &[
        field("Id", Kind::String, false),
        field("MessageGuid", Kind::String, false),
        field("MessageStoreId", Kind::String, false),
        field("TimeStamp", Kind::DateTime, false),
        field("HasAttachments", Kind::Boolean, false),
        field("ContentType", Kind::String, false),
    ],
    properties: &[
        "Id",
        "MessageGuid",
        "MessageStoreId",
        "TimeStamp",
        "HasAttachments",
        "ContentType",
    ],
};

/// `MessageProcessingLogErrorInformations`: the error of a failed message.
pub static ERROR_INFORMATION: Schema = Schema {
    set: "MessageProcessingLogErrorInformations",
    fields: &[
        field("MessageGuid", Kind::String, false),
        field("Type", Kind::String, false),
        field("LastErrorModelStepId", Kind::String, true),
    ],
    properties: &["MessageGuid", "Type", "LastErrorModelStepId"],
};

/// `AuditLogs`: what was done to or with iflowd (CPI's audit log), plus iflowd's own `Details`.
pub static AUDIT_LOG: Schema = Schema {
    set: "AuditLogs",
    fields: &[
        field("ChangeId", Kind::String, false),
        field("Action", Kind::String, false),
        field("Timestamp", Kind::DateTime, false),
        field("UserName", Kind::String, true),
        field("UserType", Kind::String, false),
        field("ObjectName", Kind::String, false),
        field("Source", Kind::String, true),
        field("Details", Kind::String, false),
    ],
    properties: &[
        "ChangeId",
        "Action",
        "Timestamp",
        "UserName",
        "UserType",
        "ObjectName",
        "Source",
        "Details",
    ],
};

/// `KeystoreEntries`: the certificates and keys iflowd holds (CPI's keystore), keyed like CPI's
/// by the alias in hexadecimal.
pub static KEYSTORE_ENTRY: Schema = Schema {
    set: "KeystoreEntries",
    fields: &[
        field("Hexalias", Kind::String, false),
        field("Alias", Kind::String, false),
        field("Type", Kind::String, false),
        field("Owner", Kind::String, false),
        field("KeyType", Kind::String, true),
        field("KeySize", Kind::Int, true),
        field("SignatureAlgorithm", Kind::String, true),
        field("SerialNumber", Kind::String, true),
        field("Subject", Kind::String, true),
        field("Issuer", Kind::String, true),
        field("ValidNotBefore", Kind::DateTime, true),
        field("ValidNotAfter", Kind::DateTime, true),
        field("FingerprintSha256", Kind::String, false),
        field("LastModifiedTime", Kind::DateTime, false),
    ],
    properties: &[
        "Hexalias",
        "Alias",
        "Type",
        "Owner",
        "KeyType",
        "KeySize",
        "SignatureAlgorithm",
        "SerialNumber",
        "Subject",
        "Issuer",
        "ValidNotBefore",
        "ValidNotAfter",
        "FingerprintSha256",
        "LastModifiedTime",
    ],
};

/// `IntegrationPackages`: the packages the endpoints are grouped in (`[deployment]`). As in
/// CPI, `CreationDate` and `ModifiedDate` are strings of epoch milliseconds.
pub static INTEGRATION_PACKAGE: Schema = Schema {
    set: "IntegrationPackages",
    fields: &[
        field("Id", Kind::String, false),
        field("Name", Kind::String, false),
        field("Description", Kind::String, false),
        field("ShortText", Kind::String, false),
        field("Version", Kind::String, false),
        field("Vendor", Kind::String, false),
        field("Mode", Kind::String, false),
        field("SupportedPlatform", Kind::String, false),
        field("PartnerContent", Kind::Boolean, false),
        field("UpdateAvailable", Kind::Boolean, false),
        field("CreatedBy", Kind::String, false),
        field("CreationDate", Kind::String, false),
        field("ModifiedBy", Kind::String, false),
        field("ModifiedDate", Kind::String, false),
    ],
    properties: &[
        "Id",
        "Name",
        "Description",
        "ShortText",
        "Version",
        "Vendor",
        "Mode",
        "SupportedPlatform",
        "PartnerContent",
        "UpdateAvailable",
        "CreatedBy",
        "CreationDate",
        "ModifiedBy",
        "ModifiedDate",
    ],
};

/// `MessageProcessingLogCustomHeaderProperties`: the facts an iFlow sets on a message for
/// search, here each event's type, userId and eventId; read through their message.
pub static CUSTOM_HEADER_PROPERTY: Schema = Schema {
    set: "MessageProcessingLogCustomHeaderProperties",
    fields: &[
        field("Id", Kind::String, false),
        field("Name", Kind::String, false),
        field("Value", Kind::String, true),
    ],
    properties: &["Id", "Name", "Value"],
};
/// `MessageProcessingLogAttempts`: the attempts of a queued message (iflowd's own; CPI shows
/// retries only through the status). The key is `<MessageGuid>.<Number>`.
pub static MESSAGE_PROCESSING_LOG_ATTEMPT: Schema = Schema {
    set: "MessageProcessingLogAttempts",
    fields: &[
        field("Id", Kind::String, false),
        field("MessageGuid", Kind::String, false),
        field("Number", Kind::Int, false),
        field("Start", Kind::DateTime, false),
        field("End", Kind::DateTime, true),
        field("Status", Kind::String, false),
        field("Error", Kind::String, true),
        field("Handler", Kind::String, true),
        field("NextAttempt", Kind::DateTime, true),
    ],
    properties: &[
        "Id",
        "MessageGuid",
        "Number",
        "Start",
        "End",
        "Status",
        "Error",
        "Handler",
        "NextAttempt",
    ],
};

/// `JmsBrokers`: CPI's JMS broker, one entry (`Broker1`), here the delivery queue. The
/// properties are CPI's.
pub static JMS_BROKER: Schema = Schema {
    set: "JmsBrokers",
    fields: &[
        field("Key", Kind::String, false),
        field("Capacity", Kind::Int64, true),
        field("MaxCapacity", Kind::Int64, true),
        field("IsTransactedSessionsHigh", Kind::Int, true),
        field("IsConsumersHigh", Kind::Int, true),
        field("IsProducersHigh", Kind::Int, true),
        field("MaxQueueNumber", Kind::Int64, true),
        field("QueueNumber", Kind::Int64, true),
        field("CapacityOk", Kind::Int64, true),
        field("CapacityWarning", Kind::Int64, true),
        field("CapacityError", Kind::Int64, true),
        field("IsQueuesHigh", Kind::Int, true),
        field("IsMessageSpoolHigh", Kind::Int, true),
    ],
    properties: &[
        "Key",
        "Capacity",
        "MaxCapacity",
        "IsTransactedSessionsHigh",
        "IsConsumersHigh",
        "IsProducersHigh",
        "MaxQueueNumber",
        "QueueNumber",
        "CapacityOk",
        "CapacityWarning",
        "CapacityError",
        "IsQueuesHigh",
        "IsMessageSpoolHigh",
    ],
};

/// `JmsQueues`: the broker's queues, one per endpoint with queued messages (CPI's `Name`,
/// `QueueSize`, `MaxQueueSize`, `State`, `ActiveState`, and iflowd's counts by state).
pub static JMS_QUEUE: Schema = Schema {
    set: "JmsQueues",
    fields: &[
        field("Name", Kind::String, false),
        field("MaxQueueSize", Kind::Int64, true),
        field("ActiveState", Kind::Int64, false),
        field("QueueSize", Kind::Int64, false),
        field("State", Kind::Int64, false),
        field("Queued", Kind::Int64, false),
        field("Running", Kind::Int64, false),
        field("Retry", Kind::Int64, false),
        field("Escalated", Kind::Int64, false),
    ],
    properties: &[
        "Name",
        "MaxQueueSize",
        "ActiveState",
        "QueueSize",
        "State",
        "Queued",
        "Running",
        "Retry",
        "Escalated",
    ],
};
