//! The service description, served at `<endpoint>?wsdl`.
//!
//! The document in `wsdl/iflowd.wsdl` is compiled into the binary, so a container or a copied
//! binary serves it without any files around.

use quick_xml::escape::escape;

const TEMPLATE: &str = include_str!("../../wsdl/iflowd.wsdl");
const ADDRESS_PLACEHOLDER: &str = "IFLOWD_ENDPOINT_URL";

/// The WSDL with both ports' `address` set to `endpoint_url`, the URL the client used, so a SOAP
/// client that loads it calls back where it came from.
pub fn document(endpoint_url: &str) -> String {
    TEMPLATE.replace(ADDRESS_PLACEHOLDER, &escape(endpoint_url))
}
