//! Publishing a run: only the bot that produced it may, and only a successful run. The run is
//! marked published (`<data dir>/published/<run_id>.json`, written atomically); the answer says
//! whether it is the registry's champion (best real-data run) of its asset × timeframe, which
//! is how the pipeline's publisher promotes. `{"remote": true}` also pushes the archive's
//! pending artifacts to the remote store (the same sync as `synth-city store sync`).

use research::{Archive, RunStatus};
use serde_json::{json, Value};

use super::{api_err, bot_of, record_json};
use crate::backend::Job;
use crate::error::{ApiError, ApiResult};
use crate::ErrorKind;

pub(super) fn publish(
    archive: &Archive,
    job: &Job,
    run_id: &str,
    options: &Value,
) -> ApiResult<Value> {
    let rec = archive.registry.get_run(run_id).map_err(api_err)?;
    if bot_of(&rec.requested_by) != Some(job.bot_id.as_str()) {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!("run {} was not produced by this bot", rec.run_id),
        ));
    }
    if rec.status != RunStatus::Ok {
        return Err(ApiError::invalid(format!(
            "run {} did not succeed; only successful runs can be published",
            rec.run_id
        )));
    }
    let remote = match options.get("remote") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("remote must be true or false")),
    };
    if remote && archive.remote.is_none() {
        return Err(ApiError::unavailable(
            "no remote store is configured (HIPPIUS_* settings)",
        ));
    }
    let mut champion_of = Vec::new();
    for s in &rec.scores {
        let champ = archive
            .registry
            .champion(&s.asset, &s.timeframe)
            .map_err(api_err)?;
        if champ.is_some_and(|c| c.run.run_id == rec.run_id) {
            champion_of.push(json!({"asset": s.asset, "timeframe": s.timeframe, "crps": s.crps}));
        }
    }
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut marker = record_json(&rec);
    marker["published_at"] = json!(when);
    marker["published_by"] = json!(job.bot_id);
    marker["champion_of"] = json!(champion_of);
    let bytes = serde_json::to_vec_pretty(&marker).map_err(|e| ApiError::failed(e.to_string()))?;
    let path = archive
        .dir()
        .join("published")
        .join(format!("{}.json", rec.run_id));
    std::fs::create_dir_all(archive.dir().join("published"))
        .and_then(|_| crate::workspace::write_new(&path, &bytes))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                ApiError::conflict(format!("run {} is already published", rec.run_id))
            }
            _ => ApiError::failed(format!("cannot mark the run published: {e}")),
        })?;
    let synced = if remote {
        let r = archive.sync().map_err(api_err)?;
        serde_json::to_value(r).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    job.emit(
        "run.published",
        json!({"id": rec.run_id, "champion_of": champion_of}),
    );
    Ok(json!({
        "status": "published", "id": rec.run_id, "published_at": when,
        "champion_of": champion_of, "is_champion": !champion_of.is_empty(),
        "provenance": rec.provenance.as_str(),
        "target": if remote { "local+remote" } else { "local" }, "remote_sync": synced,
    }))
}
