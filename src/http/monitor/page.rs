//! The frame of every page, and small pieces the pages share. maud escapes whatever `( )`
//! splices in; nothing here builds HTML from strings.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::macros::format_description;

use super::prefix::at;
use super::viewer::Viewer;

/// Which part of the monitor a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Messages,
    Endpoints,
}

/// A page of the monitor: navigation, who is logged in (and the logout button, which carries the
/// CSRF token), and `content`.
pub fn page(
    viewer: &Viewer,
    title: &str,
    section: Option<Section>,
    content: Markup,
) -> Html<String> {
    let body = html! {
        header.top {
            a.brand href=(at("/monitor/")) { "iflowd" }
            nav {
                a href=(at("/monitor/")) aria-current=[current(section, Section::Messages)] { "Messages" }
                a href=(at("/monitor/endpoints")) aria-current=[current(section, Section::Endpoints)] { "Endpoints" }
            }
            div.who {
                span { (viewer.principal.name) }
                @if let Some(token) = viewer.csrf() {
                    form method="post" action=(at("/monitor/logout")) {
                        input type="hidden" name="csrf" value=(token);
                        button.link type="submit" { "Log out" }
                    }
                }
            }
        }
        main { (content) }
    };
    document(title, body)
}

fn current(section: Option<Section>, this: Section) -> Option<&'static str> {
    (section == Some(this)).then_some("page")
}

/// A page without navigation (the login form).
pub fn bare(title: &str, content: Markup) -> Html<String> {
    document(title, content)
}

fn document(title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · iflowd monitor" }
                link rel="stylesheet" href=(at("/monitor/assets/monitor.css"));
                script src=(at("/monitor/assets/monitor.js")) defer {}
            }
            body { (body) }
        }
    };
    Html(markup.into_string())
}

/// An error as a page of the monitor, with `status`.
pub fn error(viewer: &Viewer, status: StatusCode, title: &str, message: &str) -> Response {
    let content = html! {
        h1 { (title) }
        p.problem role="alert" { (message) }
        p { a href=(at("/monitor/")) { "Back to the messages" } }
    };
    (status, page(viewer, title, None, content)).into_response()
}

/// A time as the monitor shows it: UTC, to the millisecond.
pub fn time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_default()
}

/// A status as a coloured badge (the colour comes from the stylesheet's class).
pub fn status(status: &str) -> Markup {
    html! { span class={ "status s-" (status.to_ascii_lowercase()) } { (status) } }
}

/// A text, or a dash when there is none.
pub fn or_dash(text: Option<&str>) -> Markup {
    match text {
        Some(text) if !text.is_empty() => html! { (text) },
        _ => html! { span.none { "–" } },
    }
}
