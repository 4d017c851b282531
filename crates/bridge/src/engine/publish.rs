//! Publishing a run: only the bot that produced it may, and only a successful run. The run is
//! marked published (`<data dir>/published/<run_id>.json`, written atomically) and proposed for
//! promotion (`research::promotion::promote`: checks and a paired comparison with the current
//! champion; each outcome is a `run.promotion` event); the answer says whether it is now the
//! promoted champion of its asset × timeframe. `{"remote": true}` also pushes the archive's
//! pending artifacts to the remote store (the same sync as `synth-city store sync`).

use research::{Archive, ExperimentRunner, RunStatus};
use serde_json::{json, Value};

use super::{api_err, bot_of, run_view};
use crate::backend::Job;
use crate::error::{ApiError, ApiResult};
use crate::types::{ChampionOf, PublishRequest, Published};
use crate::ErrorKind;

/// `runner` evaluates the paired comparison: the engine's runner (the `SYNTH_CITY_WORKERS`
/// pool when the bridge was started with one, else this machine).
pub(super) fn publish(
    archive: &Archive,
    runner: &dyn ExperimentRunner,
    job: &Job,
    req: &PublishRequest,
) -> ApiResult<Published> {
    let rec = archive.registry.get_run(&req.run_id).map_err(api_err)?;
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
    let remote = req.remote.unwrap_or(false);
    if remote && archive.remote.is_none() {
        return Err(ApiError::unavailable(
            "no remote store is configured (HIPPIUS_* settings)",
        ));
    }
    // Publishing proposes the run for promotion through the one research promotion (checks,
    // then a paired comparison with the current champion on the same prompts); a refusal
    // leaves the champion as it was and is reported as an event.
    let by = format!("bot:{}", job.bot_id);
    let promo = research::PromoteRequest::new(&rec.run_id, &by);
    match research::promotion::promote(archive, runner, &promo) {
        Ok(out) => out
            .iter()
            .for_each(|o| job.emit("run.promotion", serde_json::to_value(o).unwrap_or_default())),
        Err(e) => job.emit(
            "run.promotion",
            json!({"id": rec.run_id, "promoted": false, "reason": e.to_string()}),
        ),
    }
    let mut champion_of = Vec::new();
    for s in &rec.scores {
        let champ = archive
            .registry
            .champion(&s.asset, &s.timeframe)
            .map_err(api_err)?;
        if champ.is_some_and(|c| c.run.run_id == rec.run_id) {
            champion_of.push(ChampionOf {
                asset: s.asset.clone(),
                timeframe: s.timeframe.clone(),
                crps: s.crps,
            });
        }
    }
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut marker = serde_json::to_value(run_view(&rec)).unwrap_or(Value::Null);
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
        Some(serde_json::to_value(r).unwrap_or(Value::Null))
    } else {
        None
    };
    job.emit(
        "run.published",
        json!({"id": rec.run_id, "champion_of": champion_of}),
    );
    Ok(Published {
        status: "published".into(),
        id: rec.run_id.clone(),
        published_at: Some(when),
        is_champion: !champion_of.is_empty(),
        champion_of,
        provenance: Some(rec.provenance.as_str().into()),
        target: if remote { "local+remote" } else { "local" }.into(),
        remote_sync: synced,
    })
}
