//! bittensor's own client against our axon: `tests/python/dendrite_forward.py` calls the axon on
//! 127.0.0.1 with a stock `bittensor.Dendrite(...).forward(...)` and a synapse shaped like the
//! subnet's `Simulation`. Runs when `python3 -c "import bittensor"` works (or the interpreter in
//! `SYNTH_CITY_PYTHON` has it); otherwise it says SKIP on stderr and passes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use miner::{Neuron, PriceFeed};

use crate::roundtrip::serve_axon;

/// `//Alice` (the script's validator) and `//Bob` (our miner hotkey).
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

fn python() -> String {
    std::env::var("SYNTH_CITY_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn has_bittensor(py: &str) -> bool {
    Command::new(py)
        .args(["-c", "import bittensor"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the script with a deadline; returns its stdout.
fn run_script(py: &str, port: u16) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/dendrite_forward.py");
    let mut child = Command::new(py)
        .arg(script)
        .arg(port.to_string())
        .arg(BOB)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the bittensor client did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_bittensor_dendrite_reads_our_answers_and_refusals() {
    let py = python();
    if !has_bittensor(&py) {
        eprintln!("SKIP: bittensor not installed ({py} -c \"import bittensor\" failed; set SYNTH_CITY_PYTHON to an interpreter that has it)");
        return;
    }
    let neurons = vec![Neuron {
        uid: 0,
        hotkey: ALICE.into(),
        stake: 5000.0,
        validator_permit: true,
    }];
    let prices = PriceFeed::Static(HashMap::from([("BTC".to_string(), 104_856.23)]));
    let (addr, state) = serve_axon(neurons, BOB, 7, prices).await;
    let port = addr.port();

    let out = tokio::task::spawn_blocking(move || run_script(&py, port))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let a = &v["answer"];
    assert_eq!(a["is_success"], true, "{a}");
    assert_eq!(a["dendrite_status_code"], 200, "{a}");
    assert_eq!(a["axon_status_code"], 200, "{a}");
    assert_eq!(a["status_message"], "Success", "{a}");
    assert!(
        a["axon_process_time"].as_f64().is_some_and(|t| t >= 0.0),
        "{a}"
    );
    assert!(a["dendrite_process_time"].as_f64().is_some(), "{a}");
    assert_eq!(a["start_unix"], 1_778_767_560, "{a}");
    assert_eq!(a["paths"], 100, "{a}");
    assert_eq!(a["points"], 61, "{a}");

    let r = &v["refused"];
    assert_eq!(r["is_success"], false, "{r}");
    assert_eq!(r["is_failure"], true, "{r}");
    assert_eq!(r["dendrite_status_code"], 403, "{r}");
    assert_eq!(r["axon_status_code"], 403, "{r}");
    assert_eq!(
        r["status_message"], "Forbidden. Key is blacklisted: Unrecognized hotkey.",
        "{r}"
    );
    assert!(r["axon_process_time"].as_f64().is_some(), "{r}");
    assert_eq!(r["axon_version"], 10_000_001, "{r}");
    assert_eq!(r["axon_hotkey"], BOB, "{r}");
    assert_eq!(state.metrics().requests_with_status(200), 1);
}
