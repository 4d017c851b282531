//! The address `serve_axon` publishes: given (`--external-ip`), or asked of an echo service
//! each time the chain side syncs, so that a changed public address is published again
//! (bittensor's `get_external_ip` does the same at start only).

use std::net::IpAddr;
use std::time::Duration;

use super::ip::parse_ip;
use super::redact_url;

/// Echo service asked by default: answers the caller's public IPv4 as plain text.
pub const DEFAULT_ECHO_URL: &str = "https://checkip.amazonaws.com";
/// One detection gives up after this.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest answer read from the echo service (an IPv6 address is at most 45 characters).
pub const MAX_ANSWER_BYTES: usize = 128;

/// Where the published address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalIp {
    /// Always this address.
    Fixed(IpAddr),
    /// Asked of this echo service (`GET`, plain-text address) at each sync.
    Detect(String),
}

impl ExternalIp {
    /// The address now: the fixed one, or the echo service's answer.
    pub async fn resolve(&self, http: &reqwest::Client) -> Result<IpAddr, String> {
        match self {
            Self::Fixed(ip) => Ok(*ip),
            Self::Detect(url) => detect(http, url).await,
        }
    }
}

/// A client for [`ExternalIp::resolve`] (timeouts set, no redirects followed).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(DETECT_TIMEOUT)
        .connect_timeout(DETECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `GET url`, the body (at most [`MAX_ANSWER_BYTES`]) parsed as an address.
async fn detect(http: &reqwest::Client, url: &str) -> Result<IpAddr, String> {
    let shown = redact_url(url);
    let fail = |msg: String| format!("cannot detect the external IP with {shown}: {msg}");
    let mut resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status().as_u16())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(fail(format!("answer longer than {MAX_ANSWER_BYTES} bytes")));
        }
    }
    let text = String::from_utf8_lossy(&body);
    parse_ip(text.trim()).map_err(fail)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// An echo service on 127.0.0.1 answering the body it holds (the test changes it);
    /// returns its URL.
    pub(crate) fn echo_server(answer: Arc<Mutex<String>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf);
                let body = answer.lock().unwrap().clone();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    #[test]
    fn chain_external_ip_detection_reads_a_bounded_plain_answer() {
        let answer = Arc::new(Mutex::new("203.0.113.5\n".to_string()));
        let url = echo_server(answer.clone());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let http = http_client().unwrap();
        let detect = ExternalIp::Detect(url.clone());
        rt.block_on(async {
            assert_eq!(
                detect.resolve(&http).await.unwrap(),
                "203.0.113.5".parse::<IpAddr>().unwrap()
            );
            *answer.lock().unwrap() = "2001:db8::7".into();
            assert_eq!(
                detect.resolve(&http).await.unwrap(),
                "2001:db8::7".parse::<IpAddr>().unwrap()
            );
            *answer.lock().unwrap() = "<html>captive portal</html>".into();
            let e = detect.resolve(&http).await.unwrap_err();
            assert!(e.contains("not an IPv4 or IPv6 address"), "{e}");
            *answer.lock().unwrap() = "1".repeat(10_000);
            let e = detect.resolve(&http).await.unwrap_err();
            assert!(e.contains("longer than 128 bytes"), "{e}");
            let fixed = ExternalIp::Fixed("198.51.100.1".parse().unwrap());
            assert_eq!(
                fixed.resolve(&http).await.unwrap().to_string(),
                "198.51.100.1"
            );
        });
    }
}
