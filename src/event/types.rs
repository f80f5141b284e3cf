//! Which type strings mean which event kind.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The kinds iflowd types. `Other` is every type string not configured as one of the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ChangeInManager,
    Hire,
    Rehire,
    Termination,
    Other,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChangeInManager => "change_in_manager",
            Self::Hire => "hire",
            Self::Rehire => "rehire",
            Self::Termination => "termination",
            Self::Other => "other",
        }
    }
}

/// The default type strings (see the "Event types" table of the contract). Change in Manager's
/// current string is not public, so both the JobInformation string from SuccessFactors'
/// metadata test and its AssignmentInformation analogue are recognised.
pub const DEFAULT_CHANGE_IN_MANAGER: &[&str] = &[
    "com.successfactors.Employment.JobInformation.ManagerChanged",
    "com.successfactors.Employment.AssignmentInformation.ManagerChanged",
];
pub const DEFAULT_HIRE: &[&str] = &["com.successfactors.Employment.AssignmentInformation.Hire"];
pub const DEFAULT_REHIRE: &[&str] = &["com.successfactors.Employment.AssignmentInformation.ReHire"];
pub const DEFAULT_TERMINATION: &[&str] =
    &["com.successfactors.Employment.AssignmentInformation.Termination"];

/// A lookup from type string to kind, built once from `[events]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes {
    by_type: HashMap<String, EventKind>,
}

impl EventTypes {
    /// Builds the table; a string listed under two kinds keeps the first kind in the order
    /// change in manager, hire, rehire, termination (config validation reports such overlaps).
    pub fn new(lists: [(EventKind, &[String]); 4]) -> Self {
        let mut by_type = HashMap::new();
        for (kind, strings) in lists {
            for s in strings {
                by_type.entry(s.clone()).or_insert(kind);
            }
        }
        Self { by_type }
    }

    pub fn kind_of(&self, type_string: &str) -> EventKind {
        self.by_type
            .get(type_string)
            .copied()
            .unwrap_or(EventKind::Other)
    }
}

impl Default for EventTypes {
    fn default() -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self::new([
            (
                EventKind::ChangeInManager,
                &owned(DEFAULT_CHANGE_IN_MANAGER),
            ),
            (EventKind::Hire, &owned(DEFAULT_HIRE)),
            (EventKind::Rehire, &owned(DEFAULT_REHIRE)),
            (EventKind::Termination, &owned(DEFAULT_TERMINATION)),
        ])
    }
}
