//! Hire and Rehire: the same fields, told apart by the variant of [`super::Event`].

use serde::Serialize;

use crate::soap::EventRecord;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hire {
    pub user_id: Option<String>,
    pub person_id_external: Option<String>,
    /// The `startDate` key, else the event's effective start date.
    pub start_date: Option<String>,
    pub effective_start_date: Option<String>,
    #[serde(skip)]
    pub record: EventRecord,
}

impl Hire {
    pub fn from_record(record: EventRecord) -> Self {
        Self {
            user_id: record.field(&["userId"]),
            person_id_external: record.field(&["personIdExternal"]),
            start_date: record
                .field(&["startDate", "hireDate"])
                .or_else(|| record.effective_start_date.clone()),
            effective_start_date: record.effective_start_date.clone(),
            record,
        }
    }
}
