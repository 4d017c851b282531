//! What every stub-server test needs: an axum app served on 127.0.0.1, and client settings
//! that retry quickly.

use std::time::Duration;

use axum::Router;
use services::http::HttpSettings;

/// Serves `app` on a free loopback port; returns its base URL (`http://127.0.0.1:N`).
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `base` with millisecond back-offs and a 5 s timeout, so retries do not slow the tests.
pub fn fast(base: HttpSettings) -> HttpSettings {
    HttpSettings {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
        ..base
    }
}
