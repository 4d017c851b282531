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
