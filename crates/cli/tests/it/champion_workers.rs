//! `champion promote` with `SYNTH_CITY_WORKERS` set: both sides of the paired comparison are
//! evaluated on two real `synth-city worker` processes on loopback, with the numbers of the
//! same promotion made on this machine.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use research::{
    Archive, AssetScore, DataProvenance, DataRange, DataRequest, ExperimentRunner, ModelsRunner,
    Requester, RunRecord, RunStatus,
};
use serde_json::{json, Value};
use worker::client::WorkerClient;
use worker::protocol::sha256_hex;
use worker::WorkerAddr;

use crate::bin;

const TOKEN: &str = "promote-test-token";

/// A `synth-city worker` on a free loopback port, killed when dropped.
struct Worker {
    child: Child,
    url: String,
}

impl Worker {
    fn start(home: &Path) -> Self {
        let mut child = Command::new(bin())
            .args(["worker", "--listen", "127.0.0.1:0", "--device", "cpu"])
            .env("SYNTH_CITY_HOME", home)
            .env("SYNTH_CITY_WORKER_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                let rest = l.strip_prefix("synth-city worker on ")?;
                Some(rest.split_whitespace().next()?.to_string())
            })
            .expect("the worker printed no address");
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url }
    }

    fn addr(&self) -> WorkerAddr {
        WorkerAddr::new(&self.url, TOKEN)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A successful real-data GBM run on BTC at 1m, as `experiment` would record it.
fn gbm_run() -> RunRecord {
    let spec = json!({"baseline": "gbm", "timeframe": "1m"});
    let data = DataRange {
        assets: vec!["BTC".into()],
        timeframe: "1m".into(),
        start: 1_700_000_000,
        end: 1_700_600_000,
    };
    let experiment_id = research::fingerprint(&spec, &data, 0);
    let mut rec = RunRecord {
        run_id: format!("{}-0000beef", &experiment_id[..12]),
        experiment_id,
        name: "gbm".into(),
        spec,
        blocks: vec![],
        head: "baseline:gbm".into(),
        data,
        seed: 0,
        provenance: DataProvenance::Real,
        requested_by: Requester::Cli,
        status: RunStatus::Ok,
        error: None,
        crps: None,
        baseline_ratio: None,
        scores: vec![AssetScore {
            asset: "BTC".into(),
            timeframe: "1m".into(),
            crps: 1.0,
            baseline_crps: Some(1.0),
            per_interval: Default::default(),
            prompts: 5,
        }],
        extra: Default::default(),
        timings: Default::default(),
        started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        finished_at: "2026-01-01T00:10:00Z".parse().unwrap(),
        artifacts: vec![],
        ran_on: None,
    };
    rec.summarise_scores();
    rec
}

fn promote(home: &Path, run: &str, workers: Option<&str>) -> Output {
    let mut c = Command::new(bin());
    c.args(["champion", "promote", run, "--json"])
        .env("SYNTH_CITY_HOME", home)
        .env_remove("SYNTH_CITY_WORKERS")
        .env_remove("BASILICA_API_TOKEN")
        .env_remove("BASILICA_API_KEY")
        .env_remove("HIPPIUS_ACCESS_KEY")
        .env_remove("HIPPIUS_SECRET_KEY");
    if let Some(w) = workers {
        c.env("SYNTH_CITY_WORKERS", w);
    }
    c.output().unwrap()
}

fn outcome(o: &Output) -> Value {
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    v[0].clone()
}

#[test]
fn champion_promote_evaluates_on_the_workers_with_the_local_numbers() {
    let test = "champion_promote_evaluates_on_the_workers_with_the_local_numbers";
    let local = ModelsRunner::new();
    let spec = json!({"baseline": "gbm", "timeframe": "1m"});
    let req = DataRequest {
        assets: vec!["BTC".into()],
        ..Default::default()
    };
    let Ok(resolved) = local.resolve_data(&spec, &req) else {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "{test}: the shared data folder (real BTC 1m history) is required here"
        );
        eprintln!("SKIP: {test}: no real BTC 1m history (shared data folder)");
        return;
    };
    let run = gbm_run();
    let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for h in [&here, &there] {
        Archive::open(h.path(), None)
            .unwrap()
            .registry
            .insert_run(&run, None)
            .unwrap();
    }

    // On this machine: plain GBM against the default model, refused (exit 1) with its numbers.
    let out = promote(here.path(), &run.run_id, None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local_o = outcome(&out);

    let workers_home = tempfile::tempdir().unwrap();
    let (a, b) = (
        Worker::start(workers_home.path()),
        Worker::start(workers_home.path()),
    );
    let list = format!("{}={TOKEN},{}={TOKEN}", a.url, b.url);
    let out = promote(there.path(), &run.run_id, Some(&list));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("dispatching to 2 worker(s)"), "{err}");
    assert!(!err.contains(TOKEN), "the token reached the log: {err}");
    let remote_o = outcome(&out);

    // The same comparison, number for number, and the same verdict.
    assert!(local_o["comparison"]["prompts"].as_u64().unwrap() >= 100);
    assert_eq!(remote_o["comparison"], local_o["comparison"]);
    assert_eq!(remote_o["promoted"], local_o["promoted"]);
    assert_eq!(remote_o["reason"], local_o["reason"]);

    // The workers did the evaluation: both sides went out at once, one to each worker, and
    // each holds the candles it evaluated on.
    let (_, _, prepared) = local.inputs(&spec, &resolved).unwrap().remove(0);
    let sha = sha256_hex(&serde_json::to_vec(&prepared).unwrap());
    for w in [&a, &b] {
        let c = WorkerClient::new(w.addr()).unwrap();
        assert!(c.has_data(&sha).unwrap(), "{} evaluated nothing", w.url);
    }
}
