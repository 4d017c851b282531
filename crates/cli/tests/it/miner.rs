//! CLI tests of the `miner` area.

use std::process::Command;

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

#[test]
fn miner_refuses_to_start_without_a_metagraph_or_with_a_bad_hotkey() {
    let out = Command::new(crate::bin())
        .args(["miner", "--hotkey", ALICE, "--no-chain", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metagraph FILE is required"));

    let out = Command::new(crate::bin())
        .args(["miner", "--hotkey", "5Nope", "--no-chain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hotkey 5Nope"));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(crate::bin())
        .args(["miner", "--no-chain", "--wallet-path"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wallet hotkey"));

    let mg = dir.path().join("mg.json");
    std::fs::write(&mg, r#"{"hotkeys":["a"],"S":[],"validator_permit":[]}"#).unwrap();
    let out = Command::new(crate::bin())
        .args(["miner", "--hotkey", ALICE, "--no-chain", "--metagraph"])
        .arg(&mg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("columns differ"));
}

#[test]
fn miner_refuses_a_pro_price_backend_without_a_key_or_an_unknown_backend() {
    let base = [
        "miner",
        "--hotkey",
        ALICE,
        "--no-chain",
        "--allow-non-registered",
        "--gbm-only",
        "--port",
        "0",
    ];
    let out = Command::new(crate::bin())
        .args(base)
        .env("PYTH_BACKEND", "pro")
        .env_remove("PYTH_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an API key: set PYTH_API_KEY"));

    let out = Command::new(crate::bin())
        .args(base)
        .args(["--pyth-backend", "lazer"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown Pyth backend \"lazer\""));
}

/// SIGTERM drains like Ctrl-C: a request in flight (its body half sent) is answered after the
/// signal, then the process exits 0. Its log, written to a pipe, has no colour codes.
#[cfg(unix)]
#[test]
fn miner_drains_on_sigterm_and_logs_without_colour_to_a_pipe() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"BTC": 97000.5}"#).unwrap();
    let mut child = Command::new(crate::bin())
        .args([
            "-v",
            "miner",
            "--hotkey",
            ALICE,
            "--no-chain",
            "--allow-non-registered",
        ])
        .args([
            "--gbm-only",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--price-file",
        ])
        .arg(&prices)
        .env("SYNTH_CITY_HOME", dir.path())
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr on a thread: the address line first, then everything until exit.
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let log2 = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .split(" on ")
                .nth(1)
                .filter(|_| line.contains("serving POST"))
            {
                let _ = tx.send(addr.trim().to_string());
            }
            log2.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            panic!("miner did not start: {}", log.lock().unwrap());
        }
    };

    let body = br#"{"simulation_input":{}}"#;
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /Simulation HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the miner exited with a request in flight: {}",
        log.lock().unwrap()
    );
    conn.write_all(&body[10..]).unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 "), "{resp}");
    assert!(resp.contains("bt_header_axon_status_code"), "{resp}");

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the miner did not exit after SIGTERM: {}",
                log.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(
        log.contains("axon listening"),
        "an info line is logged with -v: {log}"
    );
    assert!(
        !log.contains('\x1b'),
        "colour codes in a piped log: {log:?}"
    );
}

#[test]
fn miner_talks_to_the_chain_by_default_and_says_why_it_cannot() {
    let run = |args: &[&str]| {
        let out = Command::new(crate::bin())
            .args(["miner", "--hotkey", ALICE, "--port", "0"])
            .args(args)
            .env_remove("SUBTENSOR_NETWORK")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // No --no-chain: publishing the axon needs the wallet's key, checked before connecting.
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("serve_axon needs a non-zero port"), "{err}");
    let (code, err) = run(&["--external-port", "8091"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("serve_axon is signed by the hotkey"), "{err}");
    // An unknown network name lists the known ones.
    let (code, err) = run(&["--network", "mainnet", "--no-serve-axon"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("finney, test, archive, local"), "{err}");
    // No node at the endpoint: a runtime error naming it, not a panic.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}");
    let (code, err) = run(&["--network", &url, "--no-serve-axon"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!("cannot connect to subtensor at {url}")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
