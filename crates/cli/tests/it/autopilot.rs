//! `synth-city autopilot` as a process: it starts on a fresh data directory (offline: static
//! prices, no chain, a Pyth stub on loopback), syncs, then a real SIGTERM stops it cleanly (exit
//! 0, state saved as stopped, registry readable), `autopilot status --json` says so, and a
//! restart on the same state resumes its schedule.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../autopilot/tests/it/pyth_stub.rs"]
mod pyth_stub;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn state(home: &std::path::Path) -> serde_json::Value {
    let p = home.join("autopilot/state.json");
    std::fs::read(&p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn start(home: &std::path::Path, stub: &pyth_stub::PythStub) -> std::process::Child {
    let prices = home.join("prices.json");
    std::fs::write(&prices, r#"{"BTC": 100000.0}"#).unwrap();
    Command::new(super::bin())
        .args([
            "autopilot",
            "--no-chain",
            "--allow-non-registered",
            "--hotkey",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "--price-file",
        ])
        .arg(&prices)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &free_port().to_string(),
            "--research",
            "off",
            "--assets",
            "BTC",
            "--timeframes",
            "5m",
        ])
        .env("SYNTH_CITY_HOME", home)
        .env("SYNTH_CITY_PYTH_URL", &stub.url)
        .env("SYNTH_CITY_SYNC_MAX_DAYS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigterm(child: &std::process::Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t0.elapsed() < limit, "the autopilot did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_it_cleanly_and_a_restart_resumes() {
    if Command::new("kill").arg("-l").output().is_err() {
        eprintln!("SKIP: no `kill` program to send SIGTERM with");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let stub = pyth_stub::PythStub::start();
    let mut child = start(home.path(), &stub);
    let t0 = Instant::now();
    // Running once the sync and the first promotion round are done.
    while state(home.path())["promote"]["rounds"]
        .as_u64()
        .unwrap_or(0)
        < 1
    {
        if let Some(s) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the autopilot exited early ({s}): {err}");
        }
        assert!(t0.elapsed() < Duration::from_secs(50), "no promotion round");
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = state(home.path());
    assert_eq!(s["running"], true);
    assert_eq!(s["sync"]["rounds"], 1, "{s}");
    assert!(stub.requests() >= 1);
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let s = state(home.path());
    assert_eq!(s["running"], false, "{s}");
    assert_eq!(s["in_progress"], serde_json::Value::Null);
    // The registry is readable and the status command reports the stop.
    let out = Command::new(super::bin())
        .args(["autopilot", "status", "--json"])
        .env("SYNTH_CITY_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["found"], true);
    assert_eq!(st["alive"], false);
    let out = Command::new(super::bin())
        .args(["champion", "list", "--json"])
        .env("SYNTH_CITY_HOME", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Restart: the schedule resumes (no new sync before its interval), then SIGTERM again.
    let requests = stub.requests();
    let mut child = start(home.path(), &stub);
    let t0 = Instant::now();
    while state(home.path())["restarts"].as_u64().unwrap_or(0) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no restart recorded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
    let s = state(home.path());
    assert_eq!(s["sync"]["rounds"], 1, "the sync was not due again: {s}");
    assert_eq!(stub.requests(), requests);
    assert_eq!(s["running"], false);
}
