//! Termination.

use serde::Serialize;

use crate::soap::EventRecord;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    pub user_id: Option<String>,
    pub person_id_external: Option<String>,
    /// The `endDate` (EmpEmploymentTermination) or `terminationDate` key or param, else the
    /// event's effective start date.
    pub end_date: Option<String>,
    pub effective_start_date: Option<String>,
    #[serde(skip)]
    pub record: EventRecord,
}

impl Termination {
    pub fn from_record(record: EventRecord) -> Self {
        Self {
            user_id: record.field(&["userId"]),
            person_id_external: record.field(&["personIdExternal"]),
            end_date: record
                .field(&["endDate", "terminationDate"])
                .or_else(|| record.effective_start_date.clone()),
            effective_start_date: record.effective_start_date.clone(),
            record,
        }
    }
}
