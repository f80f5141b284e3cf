//! A downstream that accepts every POST with 204, as fast as it can: the far end of the
//! `forward` case in `bench/chain.sh`. Usage: `sink 127.0.0.1:18481`.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18481".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let router = Router::new().fallback(|_body: Bytes| async { StatusCode::NO_CONTENT });
    axum::serve(listener, router).await
}
