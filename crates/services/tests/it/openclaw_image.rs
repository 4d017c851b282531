//! The OpenClaw agent image in `deploy/openclaw/`: its entrypoint run directly with bash and
//! fake `synth-city` / `openclaw` programs on PATH (restore before start, periodic push, push on
//! exit, crash and SIGTERM, no start after a failed restore), and the Dockerfile and compose
//! file checked for the lines the image depends on (no container builder is needed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn entrypoint() -> PathBuf {
    repo().join("deploy/openclaw/entrypoint.sh")
}

/// Fake programs that log their arguments, one line per call, to `$FAKE_LOG`.
fn fakes(dir: &Path) {
    let sc = r#"#!/usr/bin/env bash
echo "synth-city $*" >> "$FAKE_LOG"
case "$*" in
  "openclaw state pull")
    case "${FAKE_PULL:-ok}" in
      ok) echo "restored v1"; exit 0 ;;
      none) echo "error: no version pushed yet" >&2; exit 2 ;;
      *) echo "error: Hippius: could not reach the server" >&2; exit 3 ;;
    esac ;;
  "openclaw state watch"*) trap 'echo "watch stopped" >> "$FAKE_LOG"; exit 0' TERM; while :; do sleep 0.05; done ;;
  *) exit 0 ;;
esac
"#;
    let oc = r#"#!/usr/bin/env bash
echo "openclaw $*" >> "$FAKE_LOG"
trap 'echo "openclaw got TERM" >> "$FAKE_LOG"; exit 0' TERM
case "${FAKE_RUN:-exit}" in
  exit) sleep 0.3; exit "${FAKE_RC:-0}" ;;
  *) while :; do sleep 0.05; done ;;
esac
"#;
    for (name, body) in [("synth-city", sc), ("openclaw", oc)] {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

fn bash_available() -> bool {
    Command::new("bash")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fakes(dir.path());
        Self { dir }
    }

    fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut c = Command::new("bash");
        c.arg(entrypoint())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.dir.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("FAKE_LOG", self.log_path())
            .env_remove("HIPPIUS_ACCESS_KEY")
            .env_remove("HIPPIUS_SECRET_KEY")
            .env("STATE_PUSH_EVERY", "15m")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

const KEYS: [(&str, &str); 2] = [
    ("HIPPIUS_ACCESS_KEY", "hip_test"),
    ("HIPPIUS_SECRET_KEY", "s3cret"),
];

fn pos(log: &[String], line: &str) -> usize {
    log.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} not in {log:?}"))
}

#[test]
fn restores_before_start_and_pushes_after_a_crash() {
    if !bash_available() {
        println!("SKIP: bash not found");
        return;
    }
    let r = Run::new();
    let mut env = KEYS.to_vec();
    env.push(("FAKE_RC", "3"));
    let out = r.command(&env).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "the agent's exit status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = r.log();
    let pull = pos(&log, "synth-city openclaw state pull");
    let start = pos(&log, "openclaw gateway --port 18789");
    let push = pos(&log, "synth-city openclaw state push");
    assert!(pull < start && start < push, "{log:?}");
    assert!(
        log.iter()
            .any(|l| l == "synth-city openclaw state watch --every 15m"),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l == "watch stopped"),
        "periodic push left running: {log:?}"
    );
}

#[test]
fn sigterm_stops_the_agent_then_pushes() {
    if !bash_available() {
        println!("SKIP: bash not found");
        return;
    }
    let r = Run::new();
    let mut env = KEYS.to_vec();
    env.push(("FAKE_RUN", "forever"));
    let mut child = r
        .command(&env)
        .arg("openclaw")
        .arg("gateway")
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !r.log().iter().any(|l| l.starts_with("openclaw gateway"))
        && t0.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let log = r.log();
    let term = pos(&log, "openclaw got TERM");
    let push = pos(&log, "synth-city openclaw state push");
    assert!(term < push, "pushed before the agent stopped: {log:?}");
}

#[test]
fn a_failed_restore_never_starts_the_agent_nor_pushes() {
    if !bash_available() {
        println!("SKIP: bash not found");
        return;
    }
    let r = Run::new();
    let mut env = KEYS.to_vec();
    env.push(("FAKE_PULL", "fail"));
    let out = r.command(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = r.log();
    assert_eq!(log, ["synth-city openclaw state pull"], "{log:?}");
}

#[test]
fn first_start_without_saved_state_or_without_keys() {
    if !bash_available() {
        println!("SKIP: bash not found");
        return;
    }
    let r = Run::new();
    let mut env = KEYS.to_vec();
    env.push(("FAKE_PULL", "none"));
    env.push(("STATE_PUSH_EVERY", "off"));
    let out = r.command(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = r.log();
    assert!(
        log.iter().any(|l| l.starts_with("openclaw gateway")),
        "{log:?}"
    );
    assert!(
        !log.iter().any(|l| l.contains("state watch")),
        "--every off ignored: {log:?}"
    );
    assert!(log.iter().any(|l| l == "synth-city openclaw state push"));

    let r = Run::new();
    let out = r.command(&[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = r.log();
    assert_eq!(
        log,
        ["openclaw gateway --port 18789"],
        "no Hippius keys: no sync: {log:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("HIPPIUS_ACCESS_KEY"));
}

#[test]
fn entrypoint_passes_bash_syntax_check_and_shellcheck_when_present() {
    if !bash_available() {
        println!("SKIP: bash not found");
        return;
    }
    let st = Command::new("bash")
        .arg("-n")
        .arg(entrypoint())
        .status()
        .unwrap();
    assert!(st.success());
    match Command::new("shellcheck").arg(entrypoint()).output() {
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout)),
        Err(_) => println!("SKIP: shellcheck not installed (bash -n passed)"),
    }
}

#[test]
fn dockerfile_and_compose_have_what_the_image_needs() {
    let df = std::fs::read_to_string(repo().join("deploy/openclaw/Dockerfile")).unwrap();
    // hadolint when available, else the required lines.
    match Command::new("hadolint")
        .arg(repo().join("deploy/openclaw/Dockerfile"))
        .output()
    {
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout)),
        Err(_) => println!("SKIP: hadolint not installed; checking the required lines only"),
    }
    let lines: Vec<String> = df
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let has = |p: &str| lines.iter().any(|l| l.starts_with(p));
    for required in [
        "FROM rust:",
        "FROM node:",
        "COPY --from=build /usr/local/bin/synth-city /usr/local/bin/synth-city",
        "COPY deploy/openclaw/entrypoint.sh /usr/local/bin/entrypoint.sh",
        "USER node",
        "EXPOSE 18789",
        "HEALTHCHECK",
        "ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"/usr/local/bin/entrypoint.sh\"]",
        "CMD [\"openclaw\", \"gateway\"",
    ] {
        assert!(has(required), "Dockerfile lacks {required:?}");
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("npm install -g") && l.contains("openclaw@")));
    assert!(lines
        .iter()
        .any(|l| l.contains("cargo build --release --locked -p synth-city")));
    // No secret baked into the image.
    for l in &lines {
        let up = l.to_uppercase();
        assert!(
            !(l.starts_with("ENV") || l.starts_with("ARG"))
                || !(up.contains("SECRET") || up.contains("API_KEY") || up.contains("TOKEN")),
            "credential in the image: {l}"
        );
    }
    // The paths it copies exist.
    for p in [
        "skills/moltbook/SKILL.md",
        "deploy/openclaw/entrypoint.sh",
        "Cargo.lock",
    ] {
        assert!(repo().join(p).exists(), "{p} missing");
    }
    let compose =
        std::fs::read_to_string(repo().join("deploy/openclaw/docker-compose.yml")).unwrap();
    for required in [
        "dockerfile: deploy/openclaw/Dockerfile",
        "context: ../..",
        "/data",
        "stop_grace_period",
        "127.0.0.1:18789:18789",
    ] {
        assert!(compose.contains(required), "compose lacks {required:?}");
    }
    assert!(
        !compose.contains("hip_") && !compose.contains("moltbook_"),
        "keys in the compose file"
    );
}
