//! `synth-city client …`: calls a running bridge and prints its JSON answer.

use std::process::ExitCode;
use std::time::Duration;

use bridge::client::{Answer, Client, DEFAULT_URL, KEY_ENV, URL_ENV};
use clap::Subcommand;
use serde_json::{json, Value};

use crate::{CliError, CliResult};

/// Connection settings and the call to make.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bridge URL.
    #[arg(long, env = URL_ENV, default_value = DEFAULT_URL, global = true)]
    url: String,
    /// API key (a bot's key, or the admin key for admin calls).
    #[arg(long, env = KEY_ENV, hide_env_values = true, global = true)]
    key: Option<String>,
    /// Seconds to wait for an answer (1 to 86400).
    #[arg(long, default_value_t = 900, global = true,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    #[command(subcommand)]
    call: Call,
}

/// Calls.
#[derive(Subcommand, Debug)]
enum Call {
    /// Liveness and load.
    Health,
    /// Your bot id and session.
    Me,
    /// Heads, blocks and presets.
    Components,
    /// Validate then run one experiment: --spec '{"preset":"gbm","asset":"BTC"}'.
    Run {
        /// Experiment spec (JSON object).
        #[arg(long)]
        spec: String,
    },
    /// Start the pipeline; with --wait, poll until it ends.
    Pipeline {
        /// Asset.
        #[arg(long, default_value = "BTC", value_parser = crate::cmd::args::asset_name)]
        asset: String,
        /// 5m (SN50 LOW) or 1m (HIGH).
        #[arg(long, default_value = "5m", value_parser = crate::cmd::args::timeframe())]
        timeframe: sn50::Timeframe,
        /// At most this many experiments.
        #[arg(long)]
        max_experiments: Option<u32>,
        /// Publish the best run at the end.
        #[arg(long)]
        publish: bool,
        /// Wait for the end and print the final status.
        #[arg(long)]
        wait: bool,
    },
    /// Pipeline status.
    Status,
    /// Stop the pipeline.
    Stop,
    /// Cross-bot ranking.
    Ranking {
        /// Entries.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Registry runs.
    History {
        /// best, recent or worst.
        #[arg(long, default_value = "best")]
        order: String,
        /// Entries.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Champion per asset and timeframe.
    Champion {
        /// Only this asset.
        #[arg(long, value_parser = crate::cmd::args::asset_name)]
        asset: Option<String>,
    },
    /// Latest price of an asset.
    Price {
        /// Asset (BTC, ETH, SOL, XAU, SPYX, NVDAX, TSLAX, AAPLX, GOOGLX).
        #[arg(value_parser = crate::cmd::args::asset_name)]
        asset: String,
    },
    /// Publish a run you produced.
    Publish {
        /// Run id.
        run_id: String,
    },
    /// Admin: issue a key for a bot (prints it once).
    CreateBot {
        /// Bot id.
        bot_id: String,
    },
    /// Admin: revoke a bot's key.
    RevokeBot {
        /// Bot id.
        bot_id: String,
    },
    /// Any call: METHOD PATH [--data JSON].
    #[command(name = "call")]
    Raw {
        /// GET, POST, PUT or DELETE.
        method: String,
        /// Path with query string, e.g. /history?limit=5.
        path: String,
        /// JSON body.
        #[arg(long)]
        data: Option<String>,
    },
}

fn parse_json(what: &str, s: &str) -> Result<Value, CliError> {
    serde_json::from_str(s).map_err(|e| CliError::input(format!("{what} is not valid JSON: {e}")))
}

/// Prints a 2xx answer; turns others into errors (4xx: exit 2, 5xx: exit 3).
fn show(a: Answer) -> Result<Value, CliError> {
    if a.ok() {
        println!(
            "{}",
            serde_json::to_string_pretty(&a.body).unwrap_or_default()
        );
        return Ok(a.body);
    }
    let kind = a.body["error"]["kind"].as_str().unwrap_or("error");
    let msg = a.body["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| a.body.to_string());
    let text = format!("HTTP {} {kind}: {msg}", a.status);
    Err(if a.status < 500 {
        CliError::input(text)
    } else {
        CliError::runtime(text)
    })
}

/// Runs one client call.
pub fn run(args: Args) -> CliResult {
    let c = Client::new(
        &args.url,
        args.key.clone(),
        Duration::from_secs(args.timeout.max(1)),
    )
    .map_err(|e| CliError::input(e.to_string()))?;
    let call = |m: &str, p: &str, b: Option<Value>| -> Result<Value, CliError> {
        show(
            c.call(m, p, b.as_ref())
                .map_err(|e| CliError::runtime(e.to_string()))?,
        )
    };
    match args.call {
        Call::Health => call("GET", "/health", None)?,
        Call::Me => call("GET", "/me", None)?,
        Call::Components => {
            call("GET", "/components/heads", None)?;
            call("GET", "/components/blocks", None)?;
            call("GET", "/components/presets", None)?
        }
        Call::Run { spec } => {
            let spec = parse_json("--spec", &spec)?;
            let a = c
                .call(
                    "POST",
                    "/experiments/validate",
                    Some(&json!({"experiment": spec})),
                )
                .map_err(|e| CliError::runtime(e.to_string()))?;
            if a.ok() && a.body["valid"] == false {
                return Err(CliError::input(format!(
                    "invalid experiment: {}",
                    a.body["errors"]
                )));
            }
            call(
                "POST",
                "/experiments/run",
                Some(json!({"experiment": spec})),
            )?
        }
        Call::Pipeline {
            asset,
            timeframe,
            max_experiments,
            publish,
            wait,
        } => {
            let mut body = json!({"asset": asset, "timeframe": timeframe, "publish": publish});
            if let Some(n) = max_experiments {
                body["max_experiments"] = json!(n);
            }
            let v = call("POST", "/pipeline/run", Some(body))?;
            if wait {
                loop {
                    std::thread::sleep(Duration::from_secs(2));
                    let a = c
                        .call("GET", "/pipeline/status", None)
                        .map_err(|e| CliError::runtime(e.to_string()))?;
                    if !a.ok() || !matches!(a.body["status"].as_str(), Some("queued" | "running")) {
                        let done = show(a)?;
                        if done["status"] != "completed" {
                            return Ok(ExitCode::from(1));
                        }
                        break;
                    }
                }
            }
            v
        }
        Call::Status => call("GET", "/pipeline/status", None)?,
        Call::Stop => call("POST", "/pipeline/stop", None)?,
        Call::Ranking { limit } => call("GET", &format!("/ranking?limit={limit}"), None)?,
        Call::History { order, limit } => call(
            "GET",
            &format!("/history?order={order}&limit={limit}"),
            None,
        )?,
        Call::Champion { asset } => {
            let q = asset.map(|a| format!("?asset={a}")).unwrap_or_default();
            call("GET", &format!("/champion{q}"), None)?
        }
        Call::Price { asset } => call("GET", &format!("/market/price/{asset}"), None)?,
        Call::Publish { run_id } => call("POST", "/publish", Some(json!({"run_id": run_id})))?,
        Call::CreateBot { bot_id } => call("POST", "/admin/bots", Some(json!({"bot_id": bot_id})))?,
        Call::RevokeBot { bot_id } => call("DELETE", &format!("/admin/bots/{bot_id}"), None)?,
        Call::Raw { method, path, data } => {
            let body = data.map(|d| parse_json("--data", &d)).transpose()?;
            call(&method, &path, body)?
        }
    };
    Ok(ExitCode::SUCCESS)
}
