//! `.env` files (working directory, then the data directory; the real environment wins) and the
//! old `BRIDGE_API_KEY` name.

use std::path::Path;
use std::process::{Command, Output};

fn cli(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(crate::bin());
    c.args(args)
        .current_dir(cwd)
        .env_remove("SYNTH_CITY_HOME")
        .env_remove("SYNTH_CITY_PYTH_SYMBOLS")
        .env_remove("BRIDGE_API_KEY")
        .env_remove("SYNTH_BRIDGE_KEY")
        .env("HOME", cwd.join("no-home"))
        .env("XDG_DATA_HOME", cwd.join("no-xdg"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn synth(cwd: &Path, env: &[(&str, &str)], asset: &str) -> Output {
    cli(
        cwd,
        env,
        &[
            "data",
            "synth",
            "--asset",
            asset,
            "--days",
            "1",
            "--resolution",
            "5m",
        ],
    )
}

#[test]
fn dotenv_in_the_working_directory_is_loaded_and_the_real_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "# synth-city\nSYNTH_CITY_HOME={}\nexport SYNTH_CITY_PYTH_SYMBOLS=\"NEWCOIN=Crypto.NEW/USD\"\n",
            a.display()
        ),
    )
    .unwrap();
    // The asset named only in .env is known, and the data went to the .env's home.
    let o = synth(dir.path(), &[], "NEWCOIN");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(a.join("cache/NEWCOIN_5m.synthetic.parquet").is_file());
    // A variable set in the real environment wins over the file.
    let o = synth(
        dir.path(),
        &[("SYNTH_CITY_HOME", b.to_str().unwrap())],
        "NEWCOIN",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(b.join("cache/NEWCOIN_5m.synthetic.parquet").is_file());
}

#[test]
fn dotenv_in_synth_city_home_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(
        home.join(".env"),
        "SYNTH_CITY_PYTH_SYMBOLS=HOMECOIN=Crypto.H/USD\n",
    )
    .unwrap();
    let env = [("SYNTH_CITY_HOME", home.to_str().unwrap())];
    let o = synth(&cwd, &env, "HOMECOIN");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Without the file the asset is unknown.
    std::fs::remove_file(home.join(".env")).unwrap();
    assert_eq!(synth(&cwd, &env, "HOMECOIN").status.code(), Some(2));
}

#[test]
fn a_malformed_dotenv_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "NOT A VALID LINE\n").unwrap();
    let o = cli(dir.path(), &[], &["blocks"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(".env"));
}

#[test]
fn the_old_bridge_api_key_name_is_accepted_with_a_warning() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut headers = Vec::new();
        for _ in 0..64 {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            headers.push(line.to_ascii_lowercase());
        }
        let body = r#"{"status":"ok"}"#;
        let mut s = s;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        headers
    });
    let o = cli(
        dir.path(),
        &[("BRIDGE_API_KEY", "old-name-key-0123456789")],
        &["client", "--url", &url, "--timeout", "10", "health"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("BRIDGE_API_KEY is the old name of SYNTH_BRIDGE_KEY"),
        "{err}"
    );
    assert!(
        !err.contains("old-name-key"),
        "the key is never printed: {err}"
    );
    let headers = server.join().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("authorization: bearer old-name-key-0123456789")),
        "{headers:?}"
    );
}

#[test]
fn a_short_admin_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = cli(
        dir.path(),
        &[
            ("BRIDGE_ADMIN_KEY", "short"),
            ("SYNTH_CITY_HOME", dir.path().to_str().unwrap()),
        ],
        &["bridge", "--port", "0"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("shorter than 16 characters"), "{err}");
}

/// Every variable the code reads through `env::var("…")`, clap's `env = "…"` or a `…ENV…: &str`
/// constant is listed in `.env.example`.
#[test]
fn env_example_lists_every_variable_the_code_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let listed = |name: &str| {
        example
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{name}=")))
    };
    let mut files = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .collect();
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let uses_env = ["env::var(\"", "env::var_os(\"", "env = \""]
                .iter()
                .any(|p| line.contains(p))
                || (line.contains("const") && line.contains("ENV") && line.contains(": &str = \""));
            if !uses_env {
                continue;
            }
            for lit in line.split('"').skip(1).step_by(2) {
                let is_name = lit.len() > 2
                    && lit.contains('_')
                    && lit
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_name && !listed(lit) && !missing.contains(&lit.to_string()) {
                    missing.push(lit.to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "not in .env.example: {missing:?}");
}
