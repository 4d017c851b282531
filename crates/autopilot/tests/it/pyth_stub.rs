//! A Pyth history server on loopback (the UDF `…/history?symbol&resolution&from&to` protocol
//! that `market::pyth::PythClient` speaks), on std's TCP listener so any test crate can include
//! this file. It answers candles on the resolution's grid for the range asked, around 100,000
//! with a small wiggle, and counts the requests.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A running stub.
pub struct PythStub {
    /// `http://127.0.0.1:PORT/fixed_rate@200ms/history`.
    pub url: String,
    /// Requests answered.
    pub requests: Arc<AtomicUsize>,
}

fn query(target: &str) -> Vec<(String, String)> {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/")))
        .collect()
}

fn answer(target: &str) -> String {
    let q = query(target);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(from), Some(to), Some(res)) = (get("from"), get("to"), get("resolution")) else {
        return r#"{"s":"error","errmsg":"missing parameters"}"#.into();
    };
    let (from, to): (i64, i64) = (from.parse().unwrap_or(0), to.parse().unwrap_or(0));
    let step = 60 * res.parse::<i64>().unwrap_or(1).max(1);
    let first = from + (step - from.rem_euclid(step)) % step;
    let t: Vec<i64> = (0..)
        .map(|k| first + k * step)
        .take_while(|x| *x <= to)
        .collect();
    if t.is_empty() {
        return r#"{"s":"no_data"}"#.into();
    }
    let c: Vec<f64> = t
        .iter()
        .map(|&x| 100_000.0 * (1.0 + 0.002 * (x as f64 / 3600.0).sin()))
        .collect();
    serde_json::json!({"s": "ok", "t": t, "o": c, "h": c, "l": c, "c": c}).to_string()
}

impl PythStub {
    /// Starts the stub on an ephemeral loopback port (it lives as long as the test process).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Skip the headers.
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    h.clear();
                }
                let target = line.split_whitespace().nth(1).unwrap_or("/");
                let body = answer(target);
                count.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url: format!("http://{addr}/fixed_rate@200ms/history"),
            requests,
        }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
