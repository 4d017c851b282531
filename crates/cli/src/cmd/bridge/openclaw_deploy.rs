//! `synth-city openclaw deploy basilica|status|logs|stop`: the OpenClaw agent image on Basilica
//! (services::openclaw_deploy): labelled by agent, lease cut to the budget, reconciled on start.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Subcommand;
use services::basilica::Basilica;
use services::openclaw_deploy::{self, AgentSpec};

use crate::cmd::intel::{call, service_error};
use crate::CliResult;

/// Variables passed on to the container when set here.
const PASSED_ENV: &[&str] = &[
    "HIPPIUS_ACCESS_KEY",
    "HIPPIUS_SECRET_KEY",
    "HIPPIUS_BUCKET",
    "HIPPIUS_ENDPOINT",
    "MOLTBOOK_API_KEY",
    "CHUTES_API_KEY",
    "OPENCLAW_GATEWAY_TOKEN",
];

/// Deploy commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Start the agent on Basilica (BASILICA_API_TOKEN), after removing crashed or duplicate
    /// deployments of it; a healthy one is kept. The lease ends when the budget is spent.
    Basilica {
        /// Container image (built from deploy/openclaw/Dockerfile and pushed).
        #[arg(long)]
        image: String,
        /// `none`, or a GPU type.
        #[arg(long, default_value = "none")]
        gpu: String,
        /// USD the deployment may spend in all.
        #[arg(long)]
        budget: f64,
        /// USD per hour it costs (the offer's rate; for CPU an estimate).
        #[arg(long)]
        rate: f64,
        /// Agent name.
        #[arg(long, env = "OPENCLAW_STATE_AGENT", default_value = "main")]
        agent: String,
    },
    /// The agent's deployments.
    Status {
        /// Agent name.
        #[arg(long, env = "OPENCLAW_STATE_AGENT", default_value = "main")]
        agent: String,
    },
    /// The last lines of its logs.
    Logs {
        /// Agent name.
        #[arg(long, env = "OPENCLAW_STATE_AGENT", default_value = "main")]
        agent: String,
        /// Lines.
        #[arg(long, default_value_t = 200)]
        tail: u32,
    },
    /// Stop it (its entrypoint pushes the state first).
    Stop {
        /// Agent name.
        #[arg(long, env = "OPENCLAW_STATE_AGENT", default_value = "main")]
        agent: String,
    },
}

/// Runs one deploy command.
pub fn run(cmd: Cmd) -> CliResult {
    let client = Basilica::from_env().map_err(service_error)?;
    match cmd {
        Cmd::Basilica {
            image,
            gpu,
            budget,
            rate,
            agent,
        } => {
            let env: BTreeMap<String, String> = PASSED_ENV
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
                .chain([("OPENCLAW_STATE_AGENT".to_string(), agent.clone())])
                .collect();
            let spec = AgentSpec {
                agent,
                image,
                gpu: (!gpu.eq_ignore_ascii_case("none")).then_some(gpu),
                rate_usd_per_hour: rate,
                budget_usd: budget,
                env,
            };
            let out = call(openclaw_deploy::deploy(&client, &spec))?;
            for r in &out.removed {
                println!("removed {r} (crashed or duplicate)");
            }
            if out.created {
                println!(
                    "started {} (lease {} s)",
                    out.deployment.instance_name,
                    out.ttl_seconds.unwrap_or(0)
                );
            } else {
                println!("already running: {}", out.deployment.instance_name);
            }
        }
        Cmd::Status { agent } => {
            let list = call(openclaw_deploy::find(&client, &agent))?;
            if list.is_empty() {
                println!("no deployment of agent {agent}");
            }
            for d in list {
                println!(
                    "{}  {}  {}",
                    d.instance_name,
                    if d.is_ready() {
                        "ready"
                    } else if d.is_failed() {
                        "failed"
                    } else {
                        "starting"
                    },
                    d.url.unwrap_or_default()
                );
            }
        }
        Cmd::Logs { agent, tail } => {
            print!("{}", call(openclaw_deploy::logs(&client, &agent, tail))?)
        }
        Cmd::Stop { agent } => {
            for n in call(openclaw_deploy::stop(&client, &agent))? {
                println!("stopped {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
