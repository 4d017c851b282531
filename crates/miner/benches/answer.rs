//! Latency of a full LOW answer (1,000 × 289): forecast, formatting, JSON body; from the
//! reference GBM fallback, from warm statistical champions on real BTC history (when the
//! shared data folder is there), the price writer alone, and a signed HTTP round trip to the
//! axon on loopback (gzip on, as validators ask).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use market::Candles;
use miner::headers::EMPTY_BODY_HASH;
use miner::{
    parse_prompt, router, Answerer, AxonConfig, AxonState, BlacklistPolicy, ChampionSource,
    MarketHistory, Metagraph, ModelCache, Neuron, NoChampions, NoHistory, PriceFeed,
};
use models::{Forecaster, ModelError};
use schnorrkel::{ExpansionMode, MiniSecretKey};

const LOW: &str = r#"{"simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":300,"time_length":86400,"num_simulations":1000}}"#;

/// A champion source that always names one baseline.
struct Baseline(&'static str);

impl ChampionSource for Baseline {
    fn champion(
        &self,
        _: &str,
        _: sn50::Competition,
    ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        Ok(models::baselines::baseline(self.0).map(Arc::from))
    }
}

fn answers(c: &mut Criterion) {
    let mut g = c.benchmark_group("answer");
    g.sample_size(20);
    let p = parse_prompt(LOW.as_bytes()).unwrap();
    let a = Answerer::new(
        ModelCache::new(Arc::new(NoChampions), Duration::from_secs(600)),
        Arc::new(NoHistory),
    );
    let mut seed = 0u64;
    g.bench_function("low_1000x289_reference_gbm", |b| {
        b.iter(|| {
            seed += 1;
            a.answer(&p, 104_856.23, seed).unwrap().body.len()
        })
    });

    // Warm statistical champions on the real BTC 5m history, prompt just after its end.
    if market::home::shared_dir().is_some() {
        let history = Arc::new(MarketHistory::new(Duration::from_secs(3600)));
        let h: Arc<Candles> = miner::HistorySource::history(history.as_ref(), "BTC", 300, i64::MAX);
        if let Some(&last) = h.ts.last() {
            let start = chrono::DateTime::from_timestamp(last + 300, 0)
                .unwrap()
                .to_rfc3339();
            let body = LOW.replace("2026-05-14T14:06:00+00:00", &start);
            let p = parse_prompt(body.as_bytes()).unwrap();
            for name in ["gbm_hist", "garch_t", "bootstrap"] {
                let a = Answerer::new(
                    ModelCache::new(Arc::new(Baseline(name)), Duration::from_secs(600)),
                    history.clone(),
                );
                let warm = a.answer(&p, 104_856.23, 1).unwrap();
                assert_eq!(warm.model, name);
                assert!(!warm.fallback);
                g.bench_function(format!("low_1000x289_{name}_real_btc"), |b| {
                    b.iter(|| {
                        seed += 1;
                        a.answer(&p, 104_856.23, seed).unwrap().body.len()
                    })
                });
            }
        }
    }

    // The writer alone over 289,000 prices.
    let prices: Vec<f64> = (0..289_000)
        .map(|i| 104_856.23 * (1.0 + (i as f64 * 0.618).sin() * 0.05))
        .collect();
    g.bench_function("write_289000_prices", |b| {
        let mut out = Vec::with_capacity(4 << 20);
        b.iter(|| {
            out.clear();
            for &x in &prices {
                miner::wire::write_price(&mut out, x).unwrap();
                out.push(b',');
            }
            out.len()
        })
    });
    g.finish();
}

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let vali = MiniSecretKey::from_bytes(&[1; 32])
        .unwrap()
        .expand_to_keypair(ExpansionMode::Ed25519);
    let vali_ss58 = miner::ss58::encode(42, &vali.public.to_bytes());
    let miner_ss58 = miner::ss58::encode(42, &[2; 32]);
    let state = Arc::new(AxonState::new(
        AxonConfig {
            hotkey: miner_ss58.clone(),
            policy: BlacklistPolicy::default(),
            max_concurrent_answers: 2,
            seed_salt: 1,
            self_check: false,
        },
        Metagraph::from_neurons(vec![Neuron {
            uid: 0,
            hotkey: vali_ss58.clone(),
            stake: 5000.0,
            validator_permit: true,
        }]),
        Answerer::new(
            ModelCache::new(Arc::new(NoChampions), Duration::from_secs(600)),
            Arc::new(NoHistory),
        ),
        PriceFeed::Static(HashMap::from([("BTC".to_string(), 104_856.23)])),
    ));
    let url = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router(state)).await;
        });
        format!("http://{addr}/Simulation")
    });
    let client = reqwest::Client::new();
    let uuid = "7cc8dcea-e619-11f1-b563-02fc00000001";
    let mut g = c.benchmark_group("http");
    g.sample_size(20);
    g.bench_function("low_1000x289_signed_round_trip_gzip", |b| {
        b.iter(|| {
            let nonce = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let msg = format!("{nonce}.{vali_ss58}.{miner_ss58}.{uuid}.{EMPTY_BODY_HASH}");
            let sig = vali.sign_simple(b"substrate", msg.as_bytes());
            let req = client
                .post(&url)
                .header("content-type", "application/json")
                .header("accept-encoding", "gzip, deflate")
                .header("timeout", "12.0")
                .header("bt_header_dendrite_version", "10000001")
                .header("bt_header_dendrite_nonce", nonce.to_string())
                .header("bt_header_dendrite_uuid", uuid)
                .header("bt_header_dendrite_hotkey", &vali_ss58)
                .header(
                    "bt_header_dendrite_signature",
                    format!("0x{}", hex::encode(sig.to_bytes())),
                )
                .header("computed_body_hash", EMPTY_BODY_HASH)
                .body(LOW);
            rt.block_on(async {
                let r = req.send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap().len()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, answers, http);
criterion_main!(benches);
