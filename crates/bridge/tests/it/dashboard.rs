//! The dashboard in headless Chromium against a real bridge (open mode, loopback) serving the
//! engine: after a bot's run, the rendered page's ranking names that run and its bot, and the
//! fan chart of that run is drawn.
//! Skips (with a printed reason) when `/usr/bin/chromium` is not installed.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bridge::{EngineBackend, EngineOptions};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Loads `url` headless and returns the DOM after its scripts ran (killed after 60 s).
fn dump_dom(url: &str, profile: &Path) -> String {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=10000",
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting chromium");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
    reader.join().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium_shows_the_ranking_and_a_fan_chart() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED: {CHROMIUM} is not installed (apt-get install chromium to run this test)"
        );
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let archive = research::Archive::open(home.path(), None).unwrap();
    let engine = EngineBackend::new(Arc::new(archive), EngineOptions::default());
    let mut c = crate::config(state.path());
    c.admin_key = None; // open mode: loopback only, no key needed by the page
    let running = bridge::start(c, Arc::new(engine)).await.unwrap();
    let url = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let run: Value = http
        .post(format!("{url}/experiments/run"))
        .json(&json!({"experiment": {"preset": "gbm", "asset": "GOOGLX", "seed": 3}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{run}"))
        .to_string();
    let bot = run["bot_id"].as_str().unwrap().to_string();

    let profile = tempfile::tempdir().unwrap();
    let page = format!("{url}/");
    let dom = tokio::task::spawn_blocking(move || dump_dom(&page, profile.path()))
        .await
        .unwrap();
    let start = dom
        .find("<table id=\"ranking\">")
        .unwrap_or_else(|| panic!("no ranking table in the DOM:\n{dom}"));
    let end = dom[start..]
        .find("</table>")
        .map_or(dom.len(), |e| start + e);
    let ranking = &dom[start..end];
    assert!(
        ranking.contains(&id) && ranking.contains(&bot),
        "the ranking does not show run {id} of {bot}:\n{ranking}"
    );
    // The fan chart of that run (the only one, so selected) is drawn as inline SVG.
    let start = dom
        .find("<svg id=\"fan\"")
        .unwrap_or_else(|| panic!("no fan chart in the DOM:\n{dom}"));
    let end = dom[start..].find("</svg>").map_or(dom.len(), |e| start + e);
    let fan = &dom[start..end];
    assert!(
        fan.contains(&format!("data-run=\"{id}\"")),
        "the fan chart is not of run {id}:\n{fan}"
    );
    for part in ["band-outer", "band-inner", "median", "realised"] {
        let at = fan
            .find(&format!("class=\"{part}\""))
            .unwrap_or_else(|| panic!("no {part} in the fan chart:\n{fan}"));
        let d = fan[at..].split("d=\"").nth(1).unwrap_or("");
        assert!(d.starts_with('M'), "{part} has no path:\n{fan}");
    }
    // For a look by eye: SYNTH_DASHBOARD_SCREENSHOT=/tmp/dash.png writes the rendered page.
    if let Ok(out) = std::env::var("SYNTH_DASHBOARD_SCREENSHOT") {
        let page = format!("{url}/");
        tokio::task::spawn_blocking(move || {
            let profile = tempfile::tempdir().unwrap();
            let status = Command::new(CHROMIUM)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                ])
                .args(["--virtual-time-budget=10000", "--window-size=1200,1400"])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(format!("--screenshot={out}"))
                .arg(page)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("starting chromium");
            eprintln!("screenshot {out}: {status}");
        })
        .await
        .unwrap();
    }
    running.stop().await;
}
