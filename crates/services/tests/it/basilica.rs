//! The Basilica client and its guards against a stub that speaks Basilica's documented API
//! (`basilica_stub.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use services::basilica::budget::Budget;
use services::basilica::lease::{reap_orphans, Lease, Owner};
use services::basilica::{Basilica, DeploymentRequest, OfferFilter, Resources};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

#[path = "basilica_stub.rs"]
mod basilica_stub;
use basilica_stub::{stub, TOKEN};

fn client(url: &str, token: &str) -> Basilica {
    let settings = HttpSettings {
        base_backoff: Duration::from_millis(5),
        max_retries: 2,
        ..Default::default()
    };
    Basilica::new(url, Secret::new(token), settings).unwrap()
}

fn worker_request() -> DeploymentRequest {
    DeploymentRequest {
        image: "ghcr.io/synth-city/worker:latest".into(),
        replicas: 1,
        port: 7070,
        command: vec!["synth-city".into(), "worker".into()],
        args: vec!["--listen".into(), "0.0.0.0:7070".into()],
        env: BTreeMap::from([("SYNTH_CITY_WORKER_TOKEN".into(), "w-secret".into())]),
        resources: Resources {
            cpu: "4".into(),
            memory: "16Gi".into(),
            gpus: None,
        },
        ttl_seconds: 3600,
        public: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn offers_are_filtered_by_rate_and_gpu_type_cheapest_first() {
    let (url, _) = stub(0).await;
    let c = client(&url, TOKEN);
    let all = c.offers(&OfferFilter::default()).await.unwrap();
    // The unpriced offer is never rentable.
    assert_eq!(
        all.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1", "o2", "o3"]
    );
    let f = OfferFilter {
        max_hourly_rate: Some(0.40),
        allowed_gpu_types: vec!["V100".into(), "A4000".into(), "H100".into()],
    };
    let cheap = c.offers(&f).await.unwrap();
    // A4000 ×2 costs 0.32/h (rate × GPUs), under the cap; H100 is over it.
    assert_eq!(
        cheap.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1", "o2"]
    );
    assert!((cheap[1].hourly_rate().unwrap() - 0.32).abs() < 1e-12);
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_without_the_token() {
    let (url, _) = stub(0).await;
    let e = client(&url, "basilica_wrong")
        .offers(&OfferFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Auth { status: 401, .. }), "{e:?}");
    assert!(!e.to_string().contains("basilica_wrong"));
    assert!(e.to_string().contains("BASILICA_API_AUTH_MISSING"));
}

#[tokio::test]
async fn a_lease_is_labelled_waits_through_a_slow_start_and_ends() {
    let (url, s) = stub(4).await;
    let c = client(&url, TOKEN);
    s.lock().unwrap().busy_once = true;
    let owner = Owner::current("run-1");
    let mut lease = Lease::start(&c, worker_request(), &owner, 0.5)
        .await
        .unwrap();
    // 503 "not processed" was retried once; one deployment exists.
    assert_eq!(s.lock().unwrap().creates, 1);
    let body = s.lock().unwrap().bodies[0].clone();
    assert_eq!(body["instanceName"], "synth-city-run-1");
    assert_eq!(body["ttlSeconds"], 3600);
    assert_eq!(body["publicMetadata"]["managed-by"], "synth-city");
    assert_eq!(
        body["publicMetadata"]["owner-pid"],
        std::process::id().to_string()
    );
    assert_eq!(body["resources"]["cpu"], "4");
    lease
        .wait_ready(Duration::from_secs(10), Duration::from_millis(5))
        .await
        .unwrap();
    assert!(lease.deployment.is_ready());
    assert!(c
        .logs(lease.name(), 50)
        .await
        .unwrap()
        .contains("synth-city worker"));
    let mine = c.list_labelled("run", "run-1").await.unwrap();
    assert_eq!(mine.len(), 1);
    lease.end().await.unwrap();
    assert_eq!(s.lock().unwrap().deletes, ["synth-city-run-1"]);
    assert!(c.list().await.unwrap().is_empty());
    // Deleting what is gone is not an error.
    assert!(!c.delete("synth-city-run-1").await.unwrap());
}

// Multi-threaded: Drop blocks its thread while the stub (on this runtime) answers the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_never_gets_ready_times_out_and_a_dropped_lease_deletes_it() {
    let (url, s) = stub(1_000).await;
    let c = client(&url, TOKEN);
    let mut lease = Lease::start(&c, worker_request(), &Owner::current("slow"), 0.5)
        .await
        .unwrap();
    let e = lease
        .wait_ready(Duration::from_millis(50), Duration::from_millis(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not ready"), "{e}");
    // The error path drops the lease without end(): Drop deletes the deployment.
    drop(lease);
    assert_eq!(s.lock().unwrap().deletes, ["synth-city-slow"]);
}

#[tokio::test]
async fn a_deployment_without_a_lease_timeout_is_refused() {
    let (url, s) = stub(0).await;
    let c = client(&url, TOKEN);
    let mut req = worker_request();
    req.ttl_seconds = 0;
    assert!(matches!(
        Lease::start(&c, req, &Owner::current("nottl"), 0.5).await,
        Err(ServiceError::Invalid(_))
    ));
    assert_eq!(s.lock().unwrap().creates, 0);
}

/// The coordinator crashes between deploy and terminate (its process is gone; nothing ran
/// `end` or `Drop`); the next start lists deployments with our labels and ends the orphan,
/// while leaving a live owner's and another host's alone.
#[tokio::test]
async fn a_restart_after_a_coordinator_crash_finds_and_ends_the_orphan() {
    let (url, s) = stub(0).await;
    let c = client(&url, TOKEN);
    // A real process that has exited: its pid is the crashed coordinator's.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let host = services::basilica::lease::host_name();
    let crashed = Owner {
        host: host.clone(),
        pid: dead_pid,
        run: "crashed".into(),
    };
    let lease = Lease::start(&c, worker_request(), &crashed, 0.5)
        .await
        .unwrap();
    std::mem::forget(lease); // the crash: no end(), no Drop
    let elsewhere = Owner {
        host: "other-host".into(),
        pid: 1,
        run: "theirs".into(),
    };
    std::mem::forget(
        Lease::start(&c, worker_request(), &elsewhere, 0.5)
            .await
            .unwrap(),
    );
    let live = Lease::start(&c, worker_request(), &Owner::current("live"), 0.5)
        .await
        .unwrap();
    let ended = reap_orphans(&c, &host, services::basilica::lease::pid_alive, false)
        .await
        .unwrap();
    assert_eq!(ended, ["synth-city-crashed"]);
    let left: Vec<String> = c
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.instance_name)
        .collect();
    assert_eq!(left, ["synth-city-live", "synth-city-theirs"]);
    live.end().await.unwrap();
    // --all-hosts ends the other host's too.
    let ended = reap_orphans(&c, &host, |_| true, true).await.unwrap();
    assert_eq!(ended, ["synth-city-theirs"]);
    assert!(s.lock().unwrap().deployments.is_empty());
}

#[test]
fn the_budget_caps_the_lease_before_renting() {
    let b = Budget {
        per_run_usd: 1.0,
        per_day_usd: 3.0,
    };
    // $1 at $0.50/h: two hours at most, whatever lease was asked.
    assert_eq!(b.lease_secs(0.5, 0.0, 86_400).unwrap(), 7200);
    let e = b.lease_secs(0.5, 2.99, 86_400).unwrap_err().to_string();
    assert!(e.contains("BASILICA_BUDGET_RUN_USD"), "{e}");
}

#[tokio::test]
async fn a_plan_reserves_its_lease_under_the_deployment_name_and_the_day_cap_holds() {
    use services::basilica::budget::Ledger;
    use services::basilica::rent::{self, RentLimits};
    let (url, _) = stub(0).await;
    let c = client(&url, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path().join("spend.json"));
    // The cheapest offer (o1) is found by the stub; the day cap pays for one lease of an hour.
    let filter = OfferFilter::default();
    let offer_rate = c.offers(&filter).await.unwrap()[0].hourly_rate().unwrap();
    let budget = Budget {
        per_run_usd: offer_rate,
        per_day_usd: offer_rate * 1.5,
    };
    let limits = RentLimits {
        filter: &filter,
        budget: &budget,
        gpus: 1,
        max_secs: 3600,
        all_hosts: false,
    };
    let first = Owner::current("plan-a").instance_name();
    let plan = rent::plan(&c, limits, &ledger, &first).await.unwrap();
    assert_eq!(plan.lease_secs, 3600);
    assert_eq!(plan.spent_by_others_usd, 0.0);
    // Reserved before anything was created: a second run gets only what is left (30 min).
    let spent = ledger.spent_today().unwrap();
    assert!((spent - offer_rate).abs() < 1e-9, "reserved {spent}");
    let second = Owner::current("plan-b").instance_name();
    let plan_b = rent::plan(&c, limits, &ledger, &second).await.unwrap();
    assert!(
        (1799..=1800).contains(&plan_b.lease_secs),
        "{}",
        plan_b.lease_secs
    );
    assert!((plan_b.spent_by_others_usd - offer_rate).abs() < 1e-9);
    // A third finds the day spent, and reserves nothing.
    let third = Owner::current("plan-c").instance_name();
    let e = rent::plan(&c, limits, &ledger, &third).await.unwrap_err();
    assert!(e.to_string().contains("budget"), "{e}");
    assert!((ledger.spent_today().unwrap() - offer_rate * 1.5).abs() < 1e-3);
    // The second run never started: its reservation goes, and the first's real cost replaces its own.
    ledger.release(&second).unwrap();
    ledger.record(&first, 0.01).unwrap();
    assert!((ledger.spent_today().unwrap() - 0.01).abs() < 1e-12);
}
