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
