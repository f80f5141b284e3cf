//! The endpoints: where each one answers, who may call it, its handlers, and exactly what to
//! paste into a SuccessFactors Event Connector (docs/successfactors.md says where the fields
//! are), plus a curl line to try it. Names of users and clients only: no secret is ever shown.

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::page::{self, Section};
use super::prefix::at;
use super::viewer::Viewer;
use crate::app::App;
use crate::auth::Holders;
use crate::config::Adapter;
use crate::endpoint::Endpoint;

/// `GET /monitor/endpoints`.
pub async fn page(State(app): State<App>, Extension(viewer): Extension<Viewer>) -> Response {
    let mut endpoints: Vec<_> = app.endpoints().iter().collect();
    endpoints.sort_by(|a, b| a.name.cmp(&b.name));
    let local = viewer.origin.starts_with("http://")
        || viewer.origin.contains("://127.")
        || viewer.origin.contains("://localhost");
    let content = html! {
        h1 { "Endpoints" }
        @if local {
            p.hint {
                "The addresses below are iflowd's as this browser reaches it (" code { (viewer.origin) } "). "
                "A SuccessFactors tenant needs a public HTTPS address on port 443: see "
                code { "docs/successfactors.md" } "."
            }
        }
        @for (i, endpoint) in endpoints.iter().enumerate() {
            (section(&app, &viewer.origin, i, endpoint))
        }
    };
    page::page(&viewer, "Endpoints", Some(Section::Endpoints), content).into_response()
}

fn section(app: &App, origin: &str, index: usize, endpoint: &Endpoint) -> Markup {
    let url = format!("{origin}{}", endpoint.path);
    let holders = app.auth().holders(&endpoint.role);
    let handlers: Vec<&str> = endpoint.chain.names().collect();
    html! {
        section.endpoint {
            h2 { (endpoint.name) }
            dl.fields {
                dt { "URL" } dd { code #{ "url-" (index) } { (url) } " " (copy(&format!("url-{index}"))) }
                dt { "WSDL" } dd { a href={ (at(&endpoint.path)) "?wsdl" } { (url) "?wsdl" } }
                dt { "Adapter" } dd { (match endpoint.adapter { Adapter::Soap => "SOAP", Adapter::Https => "HTTPS" }) }
                dt { "Authentication" } dd { (authentication(endpoint, &holders)) }
                dt { "Handlers" } dd { @for (i, name) in handlers.iter().enumerate() {
                    @if i > 0 { " → " } code { (name) } } }
            }
            @if endpoint.client_certificates.is_empty() {
                (connect(app, origin, index, &url, &endpoint.role, &holders))
            }
        }
    }
}

fn authentication(endpoint: &Endpoint, holders: &Holders) -> Markup {
    if !endpoint.client_certificates.is_empty() {
        return html! {
            "Client certificate, one of: "
            ul { @for dn in &endpoint.client_certificates { li { code { (dn.to_string()) } } } }
        };
    }
    html! {
        "Basic or an OAuth token, with the role " code { (endpoint.role) }
        @if holders.users.is_empty() && holders.clients.is_empty() {
            " (no user or client has it yet)"
        } @else {
            " (" (names(&holders.users, "user")) @if !holders.users.is_empty() && !holders.clients.is_empty() { "; " }
            (names(&holders.clients, "OAuth client")) ")"
        }
    }
}

fn names(list: &[String], what: &str) -> Markup {
    html! {
        @if !list.is_empty() {
            (what) @if list.len() > 1 { "s" } " "
            @for (i, name) in list.iter().enumerate() { @if i > 0 { ", " } code { (name) } }
        }
    }
}

/// The "Connect SuccessFactors" panel: the Event Connector's fields, with Basic and with OAuth.
fn connect(
    app: &App,
    origin: &str,
    index: usize,
    url: &str,
    role: &str,
    holders: &Holders,
) -> Markup {
    let user = holders.users.first().map_or("USER", String::as_str);
    let curl = format!(
        "curl -u '{}:PASSWORD' -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: \"\"' --data-binary @fixtures/change-in-manager.xml {}",
        quote(user),
        shell_word(url)
    );
    let token_url = app.token_path().map(|path| format!("{origin}{path}"));
    html! {
        div.connect {
            h3 { "Connect SuccessFactors" }
            p { "In the Intelligent Services Center, add an " strong { "Event Connector" } " to the event's flow and fill in:" }
            table.paste {
                tbody {
                    tr { th { "Endpoint URL" } td { code { (url) } } }
                    tr { th { "Authentication" } td { "Basic" } }
                    tr { th { "User Name" } td { (alternatives(&holders.users, &format!("a [[users]] name with the role {role}"))) } }
                    tr { th { "Password" } td { "that user's password (iflowd keeps only its hash, or the configuration has it)" } }
                }
            }
            @if let (Some(token_url), false) = (&token_url, holders.clients.is_empty()) {
                p { "Or, with " strong { "OAuth2 Client Credentials Grant" } ":" }
                table.paste {
                    tbody {
                        tr { th { "Endpoint URL" } td { code { (url) } } }
                        tr { th { "Client ID" } td { (alternatives(&holders.clients, "")) } }
                        tr { th { "Client Secret" } td { "that client's secret" } }
                        tr { th { "Token Endpoint URL" } td { code { (token_url) } } }
                    }
                }
            }
            p { "Try it from a shell in the repository:" }
            pre.curl { code #{ "curl-" (index) } { (curl) } }
            (copy(&format!("curl-{index}")))
        }
    }
}

fn alternatives(names: &[String], none: &str) -> Markup {
    html! {
        @if names.is_empty() { span.none { (none) } }
        @for (i, name) in names.iter().enumerate() { @if i > 0 { " or " } code { (name) } }
    }
}

/// A button that copies the text of the element `target` (monitor.js does the copying).
fn copy(target: &str) -> Markup {
    html! { button.copy type="button" data-copy=(target) { "Copy" } }
}

/// `text` for the inside of a single-quoted shell word.
fn quote(text: &str) -> String {
    text.replace('\'', r"'\''")
}

/// `text` as one shell word.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", quote(text))
    }
}
