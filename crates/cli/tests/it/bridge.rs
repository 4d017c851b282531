//! `synth-city bridge`, `client …` and `bridge create-key` end to end, against a bridge started
//! on 127.0.0.1 with a free port (`openclaw install|check` and the skill's scripts: `openclaw.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bridge process, killed on drop.
pub(crate) struct Bridge {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `synth-city bridge` on a free loopback port with no keys, home `home`.
pub(crate) fn start(home: &std::path::Path) -> Bridge {
    let mut child = Command::new(crate::bin())
        .args(["bridge", "--host", "0.0.0.0", "--port", "0"])
        .env("SYNTH_CITY_HOME", home)
        .env_remove("BRIDGE_ADMIN_KEY")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t0 = Instant::now();
    let mut seen = Vec::new();
    let url = loop {
        let line = lines.next().expect("bridge exited early").unwrap();
        if let Some(rest) = line.strip_prefix("bridge: listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        seen.push(line);
        assert!(t0.elapsed() < Duration::from_secs(20));
    };
    // No keys configured: it refused 0.0.0.0 and said so.
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        seen.iter().any(|l| l.contains("no API keys configured")),
        "{seen:?}"
    );
    std::thread::spawn(move || for _ in lines {});
    Bridge { child, url }
}

fn cli(home: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(crate::bin())
        .args(args)
        .env("SYNTH_CITY_HOME", home)
        .env_remove("SYNTH_BRIDGE_KEY")
        .env_remove("SYNTH_BRIDGE_URL")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bridge_and_client_end_to_end() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let b = start(h);
    let url = b.url.as_str();

    // Open mode: calls act as bot "local".
    let (code, out, err) = cli(h, &["client", "--url", url, "me"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"bot_id\": \"local\""), "{out}");
    let spec = r#"{"preset":"gbm","asset":"GOOGLX"}"#;
    let (code, out, err) = cli(h, &["client", "--url", url, "run", "--spec", spec], &[]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(run["crps"].as_f64().unwrap() > 0.0);
    let (code, out, _) = cli(h, &["client", "--url", url, "ranking"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains(run["id"].as_str().unwrap()));
    // An invalid spec is refused before running (exit 2).
    let (code, _, err) = cli(
        h,
        &[
            "client",
            "--url",
            url,
            "run",
            "--spec",
            r#"{"model":"nope"}"#,
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");

    // A key created on this machine turns authentication on.
    let (code, key, err) = cli(h, &["bridge", "create-key", "clawbot"], &[]);
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_string();
    assert!(key.starts_with("sck_"));
    let (code, _, err) = cli(h, &["client", "--url", url, "me"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("401"), "{err}");
    let (code, out, _) = cli(
        h,
        &["client", "--url", url, "me"],
        &[("SYNTH_BRIDGE_KEY", &key)],
    );
    assert_eq!(code, 0);
    assert!(out.contains("\"bot_id\": \"clawbot\""), "{out}");
}
