//! An iflowd without a socket: its router called in process with `tower::ServiceExt::oneshot`,
//! for the tests that only look at an answer's shape.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use iflowd::App;
use iflowd::config::Env;
use tower::ServiceExt;

use super::{PASSWORD, USER, load_in, users_toml};

/// A built [`App`] with its own temporary directory, as [`super::TestApp`] builds it.
pub struct InProcess {
    pub app: App,
    pub dir: tempfile::TempDir,
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .expect("an ASCII header")
    }

    /// The `SAP_MessageProcessingLogID` the answer carries.
    pub fn message_id(&self) -> &str {
        self.header("sap_messageprocessinglogid")
    }
}

impl InProcess {
    /// The built-in defaults (endpoint `/cxf/isc/events`) plus the test users.
    pub async fn default() -> Self {
        Self::new(&users_toml()).await
    }

    /// From configuration text, like [`super::TestApp::spawn`].
    pub async fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let loaded = load_in(dir.path(), config, &Env::default());
        let app = App::build(&loaded.config).await.expect("app builds");
        Self { app, dir }
    }

    /// Sends `request` through the whole route table and reads the answer.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = iflowd::http::router(self.app.clone())
            .oneshot(request)
            .await
            .expect("the router answers");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the body reads");
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// A POST of `body` to `path` as the test user, with this `Content-Type`.
    pub async fn post(&self, path: &str, content_type: &str, body: impl Into<Bytes>) -> Answer {
        let body: Bytes = body.into();
        let request = Request::post(path)
            .header("authorization", basic(USER, PASSWORD))
            .header("content-type", content_type)
            .header("content-length", body.len())
            .body(Body::from(body))
            .expect("a request");
        self.send(request).await
    }

    /// One log entry as the monitoring API shows it (its `d`).
    pub async fn log_entry(&self, id: &str) -> serde_json::Value {
        let request = Request::get(format!("/api/v1/MessageProcessingLogs('{id}')"))
            .header("authorization", basic(USER, PASSWORD))
            .body(Body::empty())
            .expect("a request");
        let answer = self.send(request).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["d"].clone()
    }

    /// A SOAP 1.1 POST of `body` to `path` as the test user.
    pub async fn post_soap(&self, path: &str, body: impl Into<Bytes>) -> Answer {
        self.post(path, "text/xml; charset=utf-8", body).await
    }
}

/// An `Authorization: Basic` header value.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}
