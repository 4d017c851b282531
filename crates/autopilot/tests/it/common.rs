//! Shared set-up: a data directory, the shared-data check, a miner axon over the registry's
//! champions, a signing validator.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use autopilot::{AutopilotConfig, ResearchMode};
use miner::{
    Answerer, AutoSync, AutoSyncConfig, AxonConfig, AxonState, BlacklistPolicy, MarketHistory,
    Metagraph, ModelCache, Neuron, OrDefault, PriceFeed, RegistryChampions,
};
use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey};

use crate::pyth_stub::PythStub;

/// True when the shared data folder is there; else fails under `SYNTH_CITY_REQUIRE_SHARED`
/// (CI) or prints `SKIP:` (the caller returns).
pub fn shared_data_or_skip(test: &str) -> bool {
    if market::home::shared_dir().is_some_and(|d| d.join("data").is_dir()) {
        return true;
    }
    assert!(
        std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
        "{test}: the shared data folder (SYNTH_CITY_SHARED or ../shared/data) is required here"
    );
    eprintln!("SKIP: {test}: no shared data folder (SYNTH_CITY_SHARED or ../shared/data)");
    false
}

/// A fresh data directory as `$SYNTH_CITY_HOME` (each test runs in its own process under
/// nextest, so the variable is this test's alone).
pub fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var(market::home::HOME_ENV, dir.path());
    dir
}

/// The autopilot's settings for BTC LOW with one baseline per research round and long
/// intervals (each part runs once unless the test asks for more).
pub fn config(dir: &Path, baselines: &[&str]) -> AutopilotConfig {
    let mut cfg = AutopilotConfig::new(dir.to_path_buf());
    cfg.assets = vec!["BTC".into()];
    cfg.timeframes = vec![sn50::Timeframe::Low5m];
    cfg.sync_every = Duration::from_secs(3600);
    cfg.research_every = Duration::from_secs(3600);
    cfg.promote_every = Duration::from_secs(3600);
    cfg.research.mode = ResearchMode::Baselines(baselines.iter().map(|s| s.to_string()).collect());
    cfg
}

/// A validator that signs like bittensor's dendrite.
pub struct Validator {
    key: Keypair,
    pub hotkey: String,
    uuid: String,
}

impl Validator {
    pub fn new(b: u8) -> Self {
        let key = MiniSecretKey::from_bytes(&[b; 32])
            .unwrap()
            .expand_to_keypair(ExpansionMode::Ed25519);
        let hotkey = miner::ss58::encode(42, &key.public.to_bytes());
        Self {
            key,
            hotkey,
            uuid: format!("7cc8dcea-e619-11f1-b563-02fc000000{b:02x}"),
        }
    }

    /// Posts a signed LOW prompt for BTC starting now to the axon at `base`.
    pub fn ask(&self, base: &str, miner_hotkey: &str) -> (u16, String) {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let empty = miner::headers::EMPTY_BODY_HASH;
        let msg = format!(
            "{nonce}.{}.{miner_hotkey}.{}.{empty}",
            self.hotkey, self.uuid
        );
        let sig = self.key.sign_simple(b"substrate", msg.as_bytes());
        let now = chrono::Utc::now().timestamp();
        let start = chrono::DateTime::from_timestamp(now - now % 60, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S+00:00");
        let body = format!(
            r#"{{"name":"Simulation","timeout":30.0,"simulation_input":{{"asset":"BTC","start_time":"{start}","time_increment":300,"time_length":86400,"num_simulations":1000}},"simulation_output":null}}"#
        );
        let resp = reqwest::blocking::Client::new()
            .post(format!("{base}/Simulation"))
            .header("content-type", "application/json")
            .header("name", "Simulation")
            .header("timeout", "30.0")
            .header("bt_header_axon_hotkey", miner_hotkey)
            .header("bt_header_dendrite_version", "10000001")
            .header("bt_header_dendrite_nonce", nonce.to_string())
            .header("bt_header_dendrite_uuid", &self.uuid)
            .header("bt_header_dendrite_hotkey", &self.hotkey)
            .header(
                "bt_header_dendrite_signature",
                format!("0x{}", hex::encode(sig.to_bytes())),
            )
            .header("computed_body_hash", empty)
            .body(body)
            .timeout(Duration::from_secs(60))
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }
}

/// The miner hotkey the axon serves as.
pub fn miner_hotkey() -> String {
    Validator::new(200).hotkey
}

/// The miner as `synth-city miner` builds it, over the registry in `dir` (champions reloaded
/// only by the hot swap: an hour-long refresh interval), the market cache's history, and a
/// history auto-sync from `stub`.
pub fn miner(
    dir: &Path,
    validator: &Validator,
    stub: &PythStub,
) -> (Arc<AxonState>, Arc<AutoSync>) {
    let refresh = Duration::from_secs(3600);
    let source: Arc<dyn miner::ChampionSource> = match RegistryChampions::open(dir) {
        Ok(r) => Arc::new(OrDefault::new(r)),
        Err(_) => Arc::new(OrDefault::new(miner::NoChampions)),
    };
    let history: Arc<dyn miner::HistorySource> =
        Arc::new(MarketHistory::new(refresh).with_max_age(Duration::from_secs(3600)));
    let answerer = Answerer::new(ModelCache::new(source, refresh), history.clone());
    answerer.warm(&["BTC"]);
    let state = Arc::new(AxonState::new(
        AxonConfig {
            hotkey: miner_hotkey(),
            policy: BlacklistPolicy::default(),
            max_concurrent_answers: 2,
            seed_salt: 7,
            self_check: true,
        },
        Metagraph::from_neurons(vec![Neuron {
            uid: 0,
            hotkey: validator.hotkey.clone(),
            stake: 5000.0,
            validator_permit: true,
        }]),
        answerer,
        PriceFeed::Static(HashMap::from([("BTC".to_string(), 100_000.0)])),
    ));
    let pyth = market::pyth::PythConfig {
        history_url: stub.url.clone(),
        retries: 1,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        ..market::pyth::PythConfig::default()
    };
    let sync = Arc::new(AutoSync::new(
        AutoSyncConfig {
            max_age: Duration::from_secs(3600),
            check_every: Duration::from_secs(3600),
            max_days: 2,
            series: vec![("BTC".into(), 300)],
        },
        pyth,
        market::Cache::open_default(),
        history,
    ));
    (state, sync)
}

/// Puts a weak champion (the reference GBM, forced) in the registry, as an operator's
/// `champion promote --force` would; returns its run id.
pub fn weak_champion(dir: &Path) -> String {
    let archive = Arc::new(research::Archive::open(dir, None).unwrap());
    let mut session = research::ResearchSession::new(
        archive.clone(),
        Arc::new(research::ModelsRunner::new()),
        research::Requester::Cli,
    );
    let out = session
        .run(research::RunRequest {
            spec: serde_json::json!({"baseline": "gbm", "timeframe": "5m"}),
            data: research::DataRequest {
                assets: vec!["BTC".into()],
                ..Default::default()
            },
            seed: 0,
            name: Some("gbm".into()),
            force: false,
        })
        .unwrap();
    let id = out.record.run_id;
    let req = research::PromoteRequest {
        force: true,
        ..research::PromoteRequest::new(&id, "cli")
    };
    let o = research::promotion::promote(&archive, &research::ModelsRunner::new(), &req).unwrap();
    assert!(o[0].promoted, "{o:?}");
    id
}

/// Reads the service's state file.
pub fn state(dir: &Path) -> autopilot::AutopilotState {
    autopilot::AutopilotState::load(&autopilot::state::state_path(dir)).unwrap()
}
