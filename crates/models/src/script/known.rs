//! Scripts known by name in this process, so `script:<name>` resolves wherever a baseline name
//! does (experiment, sweep, backtest, miner): those the research layer installed from the
//! component store ([`install`]), or a file path ending in `.rhai` (`script:path/to/x.rhai`,
//! for the CLI). What is recorded is always the source itself (the model's settings), so a
//! recorded run replays without this table.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{check, ScriptModel};
use crate::ModelError;

/// At most this many scripts are installed at once (each at most 64 KiB).
pub const MAX_INSTALLED: usize = 1024;

static KNOWN: RwLock<BTreeMap<String, ScriptModel>> = RwLock::new(BTreeMap::new());

/// Makes `model` resolvable as `script:<model.name>` after checking it ([`check`]); a later
/// install of the same name replaces it (a new version).
pub fn install(model: ScriptModel) -> Result<(), ModelError> {
    let same = KNOWN
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&model.name)
        .is_some_and(|m| m.source == model.source);
    if same {
        return Ok(());
    }
    check(&model.source).map_err(|e| match e {
        ModelError::InvalidConfig(m) => {
            ModelError::InvalidConfig(format!("script:{}: {m}", model.name))
        }
        other => other,
    })?;
    let mut k = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if k.len() >= MAX_INSTALLED && !k.contains_key(&model.name) {
        return Err(ModelError::InvalidConfig(format!(
            "script table full ({MAX_INSTALLED} scripts)"
        )));
    }
    k.insert(model.name.clone(), model);
    Ok(())
}

/// The script a model name `script:<name>` stands for: an installed one, else the file
/// `<name>` when it ends in `.rhai` (read whole, at most 64 KiB). `None` for other names and
/// for scripts that cannot be found; [`resolve`] says why.
pub fn lookup(model_name: &str) -> Option<ScriptModel> {
    resolve(model_name).ok().flatten()
}

/// Like [`lookup`], with the reason a `script:` name does not resolve. `Ok(None)` for names
/// that are not scripts.
pub fn resolve(model_name: &str) -> Result<Option<ScriptModel>, ModelError> {
    let Some(name) = super::script_name(model_name) else {
        return Ok(None);
    };
    if let Some(m) = KNOWN.read().unwrap_or_else(|e| e.into_inner()).get(name) {
        return Ok(Some(m.clone()));
    }
    if !name.ends_with(".rhai") {
        return Err(ModelError::InvalidConfig(format!(
            "{model_name}: no such script (add it with `synth-city components add FILE.rhai`, \
             or name a file: script:path/to/file.rhai)"
        )));
    }
    let meta = std::fs::metadata(name)
        .map_err(|e| ModelError::InvalidConfig(format!("{model_name}: cannot read {name}: {e}")))?;
    let cap = super::Caps::default().max_source_bytes as u64;
    if meta.len() > cap {
        return Err(ModelError::InvalidConfig(format!(
            "{model_name}: {} bytes, the script source cap is {cap}",
            meta.len()
        )));
    }
    let source = std::fs::read_to_string(name)
        .map_err(|e| ModelError::InvalidConfig(format!("{model_name}: cannot read {name}: {e}")))?;
    Ok(Some(ScriptModel::new(name, source)))
}
