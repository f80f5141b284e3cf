//! `[deployment]`: how the monitoring API describes the configured endpoints as deployed CPI
//! content (the artifacts' `DeployedBy` and `Version`, the `IntegrationPackages` they are in).
//! Descriptive only: nothing here changes how a call is handled.

use serde::Deserialize;

use super::Config;

/// `[deployment]`, every key optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentConfig {
    /// `DeployedBy` of every artifact, `CreatedBy` and `ModifiedBy` of every package.
    pub deployed_by: String,
    /// `Version` of every artifact, service endpoint and package.
    pub version: String,
    /// The package (its `Id` and `Name`) of the endpoints that name none (`[[endpoints]]
    /// package`).
    pub package: String,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        Self {
            deployed_by: "iflowd".to_owned(),
            version: "1.0.0".to_owned(),
            package: "iflowd".to_owned(),
        }
    }
}

/// Each value must be a short single line: it is shown as it is in the API and used as a key.
pub(super) fn validate(config: &Config, errors: &mut Vec<String>) {
    let deployment = &config.deployment;
    let mut check = |key: String, value: &str| {
        if value.trim().is_empty() || value.len() > 200 || value.chars().any(char::is_control) {
            errors.push(format!(
                "{key} must be a single line of 1 to 200 characters, not {value:?}"
            ));
        }
    };
    check("deployment.deployed_by".to_owned(), &deployment.deployed_by);
    check("deployment.version".to_owned(), &deployment.version);
    check("deployment.package".to_owned(), &deployment.package);
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        if let Some(package) = &endpoint.package {
            check(format!("endpoints[{i}].package"), package);
        }
    }
}
