//! `synth-city components add FILE | list | show NAME | remove NAME`: user blocks, heads and
//! scripts in the research registry, owned by `local` (this machine's command line).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use research::registry::LOCAL_OWNER;
use research::{ComponentDraft, ComponentKind, Registry, StoredComponent};

use super::json_out;
use crate::{CliError, CliResult};

/// Commands on user components.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Check a definition and store it as the next version of its name: a block or head as
    /// JSON or TOML (its `kind` field says which), a script as Rhai (`.rhai`). The name is the
    /// file's stem unless --name is given.
    Add {
        /// The definition file (.json, .toml or .rhai).
        file: PathBuf,
        /// Name to store it under (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Readable by every bot of the bridge (otherwise only by its owner).
        #[arg(long)]
        public: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the components visible here (local ones and public ones).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a component's latest version (or `--at N`) with its definition.
    Show {
        /// Component name.
        name: String,
        /// A given version (`--version` is the program's own flag).
        #[arg(long, value_name = "VERSION")]
        at: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a component (every version stays stored; the name stays yours).
    Remove {
        /// Component name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn registry() -> Result<Registry, CliError> {
    Registry::open_default().map_err(|e| CliError::runtime(format!("registry: {}", e.message)))
}

fn research_err(e: research::ResearchError) -> CliError {
    match e.kind {
        research::ErrorKind::InvalidConfig | research::ErrorKind::NotFound => {
            CliError::input(e.message)
        }
        _ => CliError::runtime(e.message),
    }
}

/// The kind a file holds: `.rhai` is a script; JSON/TOML say it in their `kind` field.
fn kind_of(path: &Path, text: &str) -> Result<ComponentKind, CliError> {
    if path.extension().and_then(|e| e.to_str()) == Some("rhai") {
        return Ok(ComponentKind::Script);
    }
    let v = models::graph::to_json(text)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    match v.get("kind").and_then(|k| k.as_str()) {
        Some("block") => Ok(ComponentKind::Block),
        Some("head") => Ok(ComponentKind::Head),
        other => Err(CliError::input(format!(
            "{}: `kind` must be \"block\" or \"head\", got {other:?}",
            path.display()
        ))),
    }
}

/// Runs one command.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Add {
            file,
            name,
            description,
            public,
            json,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
            let kind = kind_of(&file, &text)?;
            let name = match name {
                Some(n) => n,
                None => file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string(),
            };
            let stored = registry()?
                .put_component(
                    LOCAL_OWNER,
                    ComponentDraft {
                        name,
                        kind,
                        definition: text,
                        description,
                        public,
                    },
                )
                .map_err(research_err)?;
            if json {
                json_out(&brief(&stored))?;
            } else {
                println!(
                    "stored {} {} version {} ({})",
                    stored.kind.as_str(),
                    stored.name,
                    stored.version,
                    &stored.hash[..12]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::List { json } => {
            let all = registry()?.components(LOCAL_OWNER).map_err(research_err)?;
            if json {
                let v: Vec<_> = all.iter().map(brief).collect();
                json_out(&v)?;
            } else {
                println!("{} components:", all.len());
                for c in &all {
                    println!(
                        "  {:<20} {:<6} v{:<3} {:<8} {:<7} {}",
                        c.name,
                        c.kind.as_str(),
                        c.version,
                        c.owner,
                        if c.public { "public" } else { "private" },
                        c.description
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Show { name, at, json } => {
            let Some(c) = registry()?
                .component_version(LOCAL_OWNER, &name, at)
                .map_err(research_err)?
            else {
                return Err(CliError::input(format!("no component {name:?}")));
            };
            if json {
                json_out(&c)?;
            } else {
                println!(
                    "{} {} v{} by {} ({}), sha256 {}\n{}\n\n{}",
                    c.kind.as_str(),
                    c.name,
                    c.version,
                    c.owner,
                    if c.public { "public" } else { "private" },
                    c.hash,
                    c.description,
                    c.definition
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Remove { name, json } => {
            let removed = registry()?
                .remove_component(LOCAL_OWNER, &name)
                .map_err(research_err)?;
            if json {
                json_out(&serde_json::json!({"name": name, "removed": removed}))?;
            } else if removed {
                println!("removed {name} (its versions stay stored)");
            } else {
                return Err(CliError::input(format!("no component {name:?} of yours")));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A component without its definition text (listing).
fn brief(c: &StoredComponent) -> serde_json::Value {
    serde_json::json!({
        "name": c.name, "kind": c.kind, "owner": c.owner, "version": c.version,
        "hash": c.hash, "description": c.description, "public": c.public,
        "created_at": c.created_at, "user": true,
    })
}

/// User components of `kind` visible here, for `blocks` / `heads` (empty when the registry
/// cannot be opened: the built-ins are still listed).
pub fn user_listed(kind: ComponentKind) -> Vec<StoredComponent> {
    Registry::open_default()
        .and_then(|r| r.components(LOCAL_OWNER))
        .map(|all| all.into_iter().filter(|c| c.kind == kind).collect())
        .unwrap_or_default()
}

/// `spec` with the user components it names resolved from the local registry and embedded.
pub fn embed(spec: &models::spec::ModelSpec) -> Result<models::spec::ModelSpec, CliError> {
    let needs = spec
        .blocks
        .iter()
        .chain(std::iter::once(&spec.head))
        .any(|c| !c.is_user() && !models::components::is_builtin(&c.name));
    if !needs {
        return Ok(spec.clone());
    }
    let v = serde_json::to_value(spec).map_err(|e| CliError::runtime(e.to_string()))?;
    let v = registry()?
        .embed_components(LOCAL_OWNER, &v)
        .map_err(research_err)?;
    serde_json::from_value(v).map_err(|e| CliError::input(format!("spec: {e}")))
}

/// A block or head name as the CLI takes it: a built-in (or a Python alias of one), else a user
/// component's name as given.
pub fn canonical(name: &str, head: bool) -> Result<String, CliError> {
    let r = if head {
        models::aliases::canonical_head(name)
    } else {
        models::aliases::canonical_block(name)
    };
    match r {
        Ok(n) => Ok(n.to_string()),
        Err(e) => {
            let kind = if head {
                ComponentKind::Head
            } else {
                ComponentKind::Block
            };
            if user_listed(kind).iter().any(|c| c.name == name) {
                Ok(name.to_string())
            } else {
                Err(CliError::input(e))
            }
        }
    }
}
