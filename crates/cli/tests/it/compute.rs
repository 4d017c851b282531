//! `synth-city compute up | status | down`: the real binary against a stub of Basilica's
//! documented API on loopback (`services/tests/it/basilica_stub.rs`), including a coordinator
//! killed between deploy and terminate whose orphan the next start ends.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../services/tests/it/basilica_stub.rs"]
mod basilica_stub;
use basilica_stub::{stub, S, TOKEN};

/// A Basilica stub on its own runtime (the binary under test is another process).
fn start_stub() -> (tokio::runtime::Runtime, String, S) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, s) = rt.block_on(stub(0));
    (rt, url, s)
}

fn compute(home: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(crate::bin());
    c.arg("compute")
        .args(args)
        .current_dir(home)
        .env("SYNTH_CITY_HOME", home)
        .env("HOME", home.join("no-home"))
        .env("BASILICA_API_URL", url)
        .env("BASILICA_API_TOKEN", TOKEN)
        .env_remove("BASILICA_API_KEY")
        .env("BASILICA_BUDGET_RUN_USD", "2")
        .env("BASILICA_BUDGET_DAY_USD", "5")
        .env("BASILICA_MAX_HOURLY_RATE", "1.0")
        .env("BASILICA_ALLOWED_GPU_TYPES", "V100,A4000")
        .env_remove("SYNTH_CITY_WORKERS");
    c
}

fn run(home: &Path, url: &str, args: &[&str]) -> Output {
    compute(home, url, args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn names(s: &S) -> Vec<String> {
    s.lock().unwrap().deployments.keys().cloned().collect()
}

#[test]
fn up_runs_a_command_against_the_rented_worker_and_ends_the_deployment() {
    let (_rt, url, s) = start_stub();
    let home = tempfile::tempdir().unwrap();
    let seen = home.path().join("workers.txt");
    let script = format!("printf %s \"$SYNTH_CITY_WORKERS\" > {}", seen.display());
    let o = run(home.path(), &url, &["up", "--", "sh", "-c", &script]);
    assert!(o.status.success(), "{}", text(&o));
    // The cheapest allowed offer, labelled, with a lease timeout and a fresh worker token.
    let body = s.lock().unwrap().bodies[0].clone();
    assert_eq!(body["resources"]["gpus"]["model"][0], "TESLA V100");
    assert_eq!(body["publicMetadata"]["managed-by"], "synth-city");
    let ttl = body["ttlSeconds"].as_u64().unwrap();
    assert!(ttl > 0 && ttl <= 4 * 3600, "{ttl}");
    let token = body["env"]["SYNTH_CITY_WORKER_TOKEN"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    // The command saw the worker, with that token; the token never reached the log.
    let workers = std::fs::read_to_string(&seen).unwrap();
    let name = body["instanceName"].as_str().unwrap();
    assert_eq!(
        workers,
        format!("https://{name}.deployments.basilica.ai={token}")
    );
    assert!(!text(&o).contains(token), "{}", text(&o));
    // Ended on the way out; spend written; the 0600 env file removed.
    assert!(names(&s).is_empty(), "{:?}", names(&s));
    assert_eq!(s.lock().unwrap().deletes, [name.to_string()]);
    // One ledger entry, under the deployment's name: the reservation made before renting was
    // replaced by the real (seconds-long) cost, not left beside it.
    let spend: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("compute/spend.json")).unwrap())
            .unwrap();
    let entries = spend.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{spend}");
    assert_eq!(entries[0]["run"], name);
    // Seconds at under $1/h, where the reservation was the whole lease (dollars).
    assert!(entries[0]["usd"].as_f64().unwrap() < 0.05, "{spend}");
    assert!(!home.path().join(format!("compute/{name}.env")).exists());
    // A failing command's exit code comes back.
    let o = run(home.path(), &url, &["up", "--", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(names(&s).is_empty());
}

#[test]
fn without_a_budget_nothing_is_rented() {
    let (_rt, url, s) = start_stub();
    let home = tempfile::tempdir().unwrap();
    let o = compute(home.path(), &url, &["up", "--", "true"])
        .env_remove("BASILICA_BUDGET_RUN_USD")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("BASILICA_BUDGET_RUN_USD"), "{}", text(&o));
    assert_eq!(s.lock().unwrap().creates, 0);
    // No token: an environment error naming the variable, before any call.
    let o = compute(home.path(), &url, &["status"])
        .env_remove("BASILICA_API_TOKEN")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("BASILICA_API_TOKEN"), "{}", text(&o));
}

/// Waits for `child` to hold a ready worker (its SYNTH_CITY_WORKERS file appears).
fn wait_held(home: &Path, child: &mut Child) -> String {
    let t0 = Instant::now();
    loop {
        if let Some(f) = std::fs::read_dir(home.join("compute"))
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".env"))
        {
            return f
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".env")
                .to_string();
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("compute up exited early: {st}");
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no worker held");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_coordinator_killed_between_deploy_and_terminate_is_reaped_at_the_next_start() {
    let (_rt, url, s) = start_stub();
    let home = tempfile::tempdir().unwrap();
    let mut held = compute(home.path(), &url, &["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let name = wait_held(home.path(), &mut held);
    let pid = held.id();
    // kill -9: no Drop, no delete; the deployment stays (Basilica's ttlSeconds is the last
    // guard, the next start the first).
    held.kill().unwrap();
    held.wait().unwrap();
    assert_eq!(names(&s), std::slice::from_ref(&name));
    let o = run(home.path(), &url, &["status"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&name), "{}", text(&o));
    assert!(text(&o).contains(&format!("pid {pid}")), "{}", text(&o));
    let o = run(home.path(), &url, &["status", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed[0]["instanceName"], name.as_str());
    // The next start ends the orphan before renting anything.
    let o = run(home.path(), &url, &["up", "--", "true"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("ended orphaned deployment(s): {name}")),
        "{}",
        text(&o)
    );
    assert!(names(&s).is_empty(), "{:?}", names(&s));
    let deletes = s.lock().unwrap().deletes.clone();
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0], name);
}

#[test]
fn down_ends_orphans_by_default_a_name_or_all() {
    let (_rt, url, s) = start_stub();
    let home = tempfile::tempdir().unwrap();
    let mut held = compute(home.path(), &url, &["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let name = wait_held(home.path(), &mut held);
    // Its owner is alive: `down` (orphans only) leaves it.
    let o = run(home.path(), &url, &["down"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ended 0 deployment(s)"), "{}", text(&o));
    assert_eq!(names(&s), std::slice::from_ref(&name));
    // By name it ends; the holder then finds it gone and exits on its own signal later.
    let o = run(home.path(), &url, &["down", &name]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("ended 1 deployment(s) {name}")),
        "{}",
        text(&o)
    );
    assert!(names(&s).is_empty());
    held.kill().unwrap();
    held.wait().unwrap();
}
