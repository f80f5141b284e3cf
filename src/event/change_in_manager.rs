//! Change in Manager: "published after a job information change for an employee who has been
//! assigned to a new manager".
//!
//! SAP's own integration content reads EmpJob-based events through the entity keys `seqNumber`,
//! `userId`, `startDate` and the param `personIdExternal`, which matches the three keys and one
//! param of SuccessFactors' metadata test. Which param names the managers is not public; the
//! names below are the ones SuccessFactors uses for the manager on EmpJob.

use serde::Serialize;

use crate::soap::EventRecord;

/// Params read as the new manager's user id, first match wins.
pub const NEW_MANAGER_NAMES: &[&str] = &["managerId", "newManagerId", "manager"];
/// Params read as the previous manager's user id, first match wins.
pub const OLD_MANAGER_NAMES: &[&str] = &["oldManagerId", "previousManagerId", "formerManagerId"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInManager {
    pub user_id: Option<String>,
    pub person_id_external: Option<String>,
    pub seq_number: Option<String>,
    pub start_date: Option<String>,
    pub effective_start_date: Option<String>,
    pub new_manager_id: Option<String>,
    pub old_manager_id: Option<String>,
    #[serde(skip)]
    pub record: EventRecord,
}

impl ChangeInManager {
    pub fn from_record(record: EventRecord) -> Self {
        Self {
            user_id: record.field(&["userId"]),
            person_id_external: record.field(&["personIdExternal"]),
            seq_number: record.field(&["seqNumber"]),
            start_date: record.field(&["startDate"]),
            effective_start_date: record.effective_start_date.clone(),
            new_manager_id: record.field(NEW_MANAGER_NAMES),
            old_manager_id: record.field(OLD_MANAGER_NAMES),
            record,
        }
    }
}
