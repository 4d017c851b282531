//! `deploy/autopilot/`: the systemd unit verified by `systemd-analyze verify` (when present;
//! its executable pointed at one that exists, since the binary is not installed here) with no
//! warning at all, and the Dockerfile and env example checked for what they must hold (no
//! container builder is needed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/autopilot")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(deploy().join(name)).unwrap()
}

#[test]
fn the_systemd_unit_verifies_without_warnings() {
    let unit = read("synth-city-autopilot.service");
    for want in [
        "ExecStart=/usr/local/bin/synth-city autopilot",
        "Restart=on-failure",
        "EnvironmentFile=/etc/synth-city/autopilot.env",
        "KillSignal=SIGTERM",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(want), "the unit lacks {want:?}");
    }
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: systemd-analyze is not installed: the unit's syntax was not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth-city-autopilot.service");
    let exe = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    std::fs::write(&path, unit.replace("/usr/local/bin/synth-city", exe)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown keys and bad values are only warnings to systemd: any output fails.
    let said: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("synth-city-autopilot.service"))
        .collect();
    assert!(out.status.success() && said.is_empty(), "{said:?}");
}

#[test]
fn the_dockerfile_builds_the_binary_and_runs_the_autopilot() {
    let d = read("Dockerfile");
    for want in [
        "cargo build --release --locked -p synth-city",
        "COPY --from=build /usr/local/bin/synth-city /usr/local/bin/synth-city",
        "ENTRYPOINT [\"/usr/bin/tini\", \"--\"]",
        "CMD [\"synth-city\", \"autopilot\"",
        "USER miner",
        "ENV SYNTH_CITY_HOME=/data",
        "STOPSIGNAL SIGTERM",
    ] {
        assert!(d.contains(want), "the Dockerfile lacks {want:?}");
    }
    assert!(d
        .lines()
        .next()
        .unwrap()
        .starts_with("# syntax=docker/dockerfile:1"));
    // Multi-stage: the build stage is named and copied from.
    assert!(d.contains(" AS build"));
}

#[test]
fn the_env_example_names_only_variables_the_cli_reads() {
    let env = read("autopilot.env.example");
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src/cmd");
    let sources: String = ["autopilot.rs", "miner.rs", "miner_chain.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(cli.join(f)).unwrap())
        .collect();
    let known_elsewhere = [
        "SYNTH_CITY_PYTH_URL",
        "CHUTES_API_KEY",
        "LLM_BASE_URL",
        "LLM_API_KEY",
        "PYTH_API_KEY",
    ];
    for line in env.lines() {
        let l = line.trim_start_matches('#');
        let Some((name, _)) = l.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        {
            continue;
        }
        assert!(
            known_elsewhere.contains(&name) || sources.contains(&format!("\"{name}\"")),
            "{name} is in the env example but no flag reads it"
        );
    }
}
