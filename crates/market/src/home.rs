//! The data directory (`$SYNTH_CITY_HOME`, or `~/.local/share/synth-city` by default) and the
//! run-time folders of real price files (`$SYNTH_CITY_DATA`, the shared folder). Nothing here
//! depends on where the binary was built.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory.
pub const HOME_ENV: &str = "SYNTH_CITY_HOME";
/// Environment variable naming a folder of real `<ASSET>_<N>m.csv.gz` files (first choice).
pub const DATA_ENV: &str = "SYNTH_CITY_DATA";
/// Environment variable naming the shared folder (real history in its `data/`, specs).
pub const SHARED_ENV: &str = "SYNTH_CITY_SHARED";

/// How many parents of the current directory are searched for a `shared` folder beside them.
const SHARED_SEARCH_DEPTH: usize = 3;

/// The synth-city data directory (cache, registry, artifacts). Not created here.
pub fn data_dir() -> PathBuf {
    if let Some(p) = env_path(HOME_ENV) {
        return p;
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("synth-city")
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The shared folder (real price history in `data/`, specs): `$SYNTH_CITY_SHARED` when set (even
/// if it does not exist, so that tests can point it at nothing), else the first `shared/data`
/// found beside the current directory or one of its nearest parents (`../shared` from the
/// repository root, `../../../shared` from a crate's folder); `None` when there is none.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = env_path(SHARED_ENV) {
        return Some(p);
    }
    let cwd = std::env::current_dir().ok()?;
    search_shared(&cwd)
}

fn search_shared(from: &Path) -> Option<PathBuf> {
    from.ancestors()
        .take(SHARED_SEARCH_DEPTH + 1)
        .filter_map(Path::parent)
        .map(|p| p.join("shared"))
        .find(|s| s.join("data").is_dir())
        .map(|s| s.canonicalize().unwrap_or(s))
}

/// The folders searched for real `<ASSET>_<N>m.csv.gz` files, first match wins:
/// `$SYNTH_CITY_DATA`, then `<shared>/data` (see [`shared_dir`]). The set embedded in the binary
/// comes after these (see [`crate::lookup`]).
pub fn data_dirs() -> Vec<PathBuf> {
    env_path(DATA_ENV)
        .into_iter()
        .chain(shared_dir().map(|s| s.join("data")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_is_searched_beside_the_current_folder_and_its_parents_only() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("repo/crates/market");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(search_shared(&deep), None);
        std::fs::create_dir_all(t.path().join("shared/data")).unwrap();
        let found = search_shared(&deep).unwrap();
        assert!(found.ends_with("shared"), "{found:?}");
        // Four levels down is beyond the search.
        let deeper = deep.join("src/x");
        std::fs::create_dir_all(&deeper).unwrap();
        assert_eq!(search_shared(&deeper), None);
    }
}
