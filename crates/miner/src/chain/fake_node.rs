//! A minimal subtensor stand-in for tests: a WebSocket JSON-RPC server on 127.0.0.1 answering
//! the legacy RPC methods subxt's client uses, with finney's metadata snapshot and a
//! `SubnetInfoRuntimeApi_get_subnet_state` answer the test can change (or make fail).
//! Hand-rolled (RFC 6455 handshake and frames) to add no dependency.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

/// What the fake node answers for the subnet state: SCALE bytes, or an RPC error.
pub type SubnetAnswer = Result<Vec<u8>, String>;

/// Shared, test-controlled state of the fake node.
#[derive(Default)]
pub struct NodeState {
    /// `SubnetInfoRuntimeApi_get_subnet_state` answer.
    pub subnet: Option<SubnetAnswer>,
    /// `state_getStorage` answer (hex SCALE bytes) for any key.
    pub storage: Option<Vec<u8>>,
    /// Methods that were called but are not implemented (for debugging a test).
    pub unknown: Vec<String>,
    /// Every method called.
    pub calls: Vec<String>,
    /// How many times the subnet state was asked for.
    pub subnet_calls: usize,
    /// `System.Events` of the head block (SCALE), for transactions' success check.
    pub events: Option<Vec<u8>>,
    /// Extrinsics submitted with `author_submitAndWatchExtrinsic` (hex); the head block holds
    /// the last one.
    pub submitted: Vec<String>,
    /// Status notifications sent after a submission (default `ready`, then `inBlock` head).
    pub tx_statuses: Option<Vec<Json>>,
    /// The node is down: new connections are closed at once (see [`set_down`]).
    pub down: bool,
    /// Connections closed at once because the node was down.
    pub refused: usize,
    /// Open connections, closed by [`set_down`].
    conns: Vec<TcpStream>,
}

/// Takes the node down (every open connection closed, new ones refused) or brings it back.
pub fn set_down(state: &Mutex<NodeState>, down: bool) {
    let mut st = state.lock().unwrap();
    st.down = down;
    if down {
        for c in st.conns.drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Starts the node on a free loopback port; returns its `ws://` URL and the state handle.
pub fn start(metadata: &'static [u8]) -> (String, Arc<Mutex<NodeState>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(NodeState::default()));
    let st = state.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            {
                let mut g = st.lock().unwrap();
                if g.down {
                    g.refused += 1;
                    continue; // dropped: the client sees the connection closed
                }
                if let Ok(c) = conn.try_clone() {
                    g.conns.push(c);
                }
            }
            let st = st.clone();
            std::thread::spawn(move || {
                let _ = serve(conn, metadata, &st);
            });
        }
    });
    (url, state)
}

fn serve(conn: TcpStream, metadata: &[u8], st: &Mutex<NodeState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut key = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.eq_ignore_ascii_case("sec-websocket-key") {
                key = Some(value.trim().to_string());
            }
        }
    }
    let key = key.unwrap_or_default();
    let accept = base64(&sha1(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    loop {
        let (opcode, payload) = read_frame(&mut reader)?;
        match opcode {
            0x8 => return Ok(()),
            0x9 => write_frame(&mut out, 0xA, &payload)?,
            0x1 | 0x2 => {
                let req: Json = serde_json::from_slice(&payload).unwrap_or(Json::Null);
                let reply = answer(&req, metadata, st);
                write_frame(&mut out, 0x1, reply.to_string().as_bytes())?;
                if req.get("method").and_then(Json::as_str)
                    == Some("author_submitAndWatchExtrinsic")
                {
                    let statuses = st
                        .lock()
                        .unwrap()
                        .tx_statuses
                        .clone()
                        .unwrap_or_else(|| vec![json!("ready"), json!({ "inBlock": HEAD })]);
                    for status in statuses {
                        let note = json!({
                            "jsonrpc": "2.0",
                            "method": "author_extrinsicUpdate",
                            "params": { "subscription": "sub-1", "result": status }
                        });
                        write_frame(&mut out, 0x1, note.to_string().as_bytes())?;
                    }
                }
            }
            _ => {}
        }
    }
}

const GENESIS: &str = "0x0707070707070707070707070707070707070707070707070707070707070707";
const HEAD: &str = "0x0909090909090909090909090909090909090909090909090909090909090909";
/// `twox128("System") ++ twox128("Events")`.
const SYSTEM_EVENTS: &str = "0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7";
const ZERO: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

fn answer(req: &Json, metadata: &[u8], st: &Mutex<NodeState>) -> Json {
    let id = req.get("id").cloned().unwrap_or(Json::Null);
    let method = req.get("method").and_then(Json::as_str).unwrap_or("");
    let params = req.get("params").cloned().unwrap_or(Json::Null);
    let mut st = st.lock().unwrap();
    st.calls.push(method.to_string());
    let result: Result<Json, String> = match method {
        "rpc_methods" => Ok(json!({ "methods": [
            "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHeader", "chain_getBlock",
            "state_getRuntimeVersion", "state_call", "state_getStorage", "state_getMetadata",
            "author_submitAndWatchExtrinsic", "author_unwatchExtrinsic"
        ]})),
        "chain_getBlockHash" => Ok(json!(if params.get(0).and_then(Json::as_u64) == Some(0) {
            GENESIS
        } else {
            HEAD
        })),
        "chain_getFinalizedHead" => Ok(json!(HEAD)),
        "chain_getHeader" => Ok(json!({
            "parentHash": ZERO, "number": "0x3e8", "stateRoot": ZERO,
            "extrinsicsRoot": ZERO, "digest": { "logs": [] }
        })),
        "state_getRuntimeVersion" => Ok(json!({
            "specName": "node-subtensor", "implName": "node-subtensor", "authoringVersion": 1,
            "specVersion": 300, "implVersion": 1, "apis": [], "transactionVersion": 1,
            "stateVersion": 1
        })),
        "state_getMetadata" => Ok(json!(format!("0x{}", hex::encode(metadata)))),
        "state_getStorage" => {
            let key = params.get(0).and_then(Json::as_str).unwrap_or("");
            let value = if key == SYSTEM_EVENTS {
                &st.events
            } else {
                &st.storage
            };
            Ok(match value {
                Some(b) => json!(format!("0x{}", hex::encode(b))),
                None => Json::Null,
            })
        }
        "author_submitAndWatchExtrinsic" => {
            let ext = params
                .get(0)
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            st.submitted.push(ext);
            Ok(json!("sub-1"))
        }
        "author_unwatchExtrinsic" => Ok(json!(true)),
        "chain_getBlock" => Ok(json!({
            "block": {
                "header": {
                    "parentHash": ZERO, "number": "0x3e8", "stateRoot": ZERO,
                    "extrinsicsRoot": ZERO, "digest": { "logs": [] }
                },
                "extrinsics": st.submitted.last().cloned().into_iter().collect::<Vec<_>>()
            },
            "justifications": null
        })),
        "state_call" => {
            let name = params.get(0).and_then(Json::as_str).unwrap_or("");
            match name {
                "AccountNonceApi_account_nonce" => Ok(json!("0x00000000")),
                "Core_version" => Ok(json!(format!("0x{}", hex::encode(runtime_version())))),
                "Metadata_metadata_versions" => Ok(json!("0x0c0e0000000f00000010000000")),
                "Metadata_metadata_at_version" => {
                    let mut b = vec![1u8];
                    compact(metadata.len(), &mut b);
                    b.extend_from_slice(metadata);
                    Ok(json!(format!("0x{}", hex::encode(b))))
                }
                "SubnetInfoRuntimeApi_get_subnet_state" => {
                    st.subnet_calls += 1;
                    match &st.subnet {
                        Some(Ok(b)) => Ok(json!(format!("0x{}", hex::encode(b)))),
                        Some(Err(e)) => Err(e.clone()),
                        None => Ok(json!("0x00")),
                    }
                }
                other => {
                    st.unknown.push(format!("state_call {other}"));
                    Err(format!("unknown runtime call {other}"))
                }
            }
        }
        other => {
            st.unknown.push(other.to_string());
            Err(format!("unknown method {other}"))
        }
    };
    match result {
        Ok(r) => json!({ "jsonrpc": "2.0", "id": id, "result": r }),
        Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32601, "message": e } }),
    }
}

/// SCALE `RuntimeVersion` { spec_name, impl_name, authoring_version, spec_version: 300,
/// impl_version, apis: [], transaction_version: 1, system_version: 1 }.
fn runtime_version() -> Vec<u8> {
    let mut b = Vec::new();
    for name in [&b"node-subtensor"[..], &b"node-subtensor"[..]] {
        compact(name.len(), &mut b);
        b.extend_from_slice(name);
    }
    b.extend(1u32.to_le_bytes());
    b.extend(300u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    compact(0, &mut b);
    b.extend(1u32.to_le_bytes());
    b.push(1);
    b
}

fn compact(n: usize, out: &mut Vec<u8>) {
    // Lengths here are below 2^30: the 4-byte mode.
    let n = n as u32;
    if n < 1 << 6 {
        out.push((n << 2) as u8);
    } else if n < 1 << 14 {
        out.extend(((n << 2) as u16 | 1).to_le_bytes());
    } else {
        out.extend(((n << 2) | 2).to_le_bytes());
    }
}

fn read_frame(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h)?;
    let opcode = h[0] & 0x0f;
    let masked = h[1] & 0x80 != 0;
    let mut len = u64::from(h[1] & 0x7f);
    if len == 126 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b)?;
        len = u64::from(u16::from_be_bytes(b));
    } else if len == 127 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        len = u64::from_be_bytes(b);
    }
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask)?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((opcode, payload))
}

fn write_frame(w: &mut impl Write, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    w.write_all(&f)
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend(bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn chain_fake_node_handshake_vector() {
    // RFC 6455 §1.3 example.
    assert_eq!(
        base64(&sha1(
            b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        )),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}
