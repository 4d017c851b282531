//! Push and restore of a workspace through an in-memory object store (the S3 round trip of the
//! snapshot layer itself is tested against a real S3 server in research's tests).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use research::store::snapshot::Snapshots;
use research::Remote;
use serde_json::json;

use super::*;

const GATEWAY_TOKEN: &str = "gw-9f8e7d6c5b4a3210";
const BOT_KEY: &str = "sck_0123456789abcdef";
const MOLTBOOK_KEY: &str = "moltbook_sk_live_abcdef0123";

fn snaps() -> (Snapshots, Arc<InMemory>) {
    let mem = Arc::new(InMemory::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    let remote = Remote::from_store(store, "", "memory");
    (
        Snapshots::new(remote, &space_for("test").unwrap()).unwrap(),
        mem,
    )
}

/// A workspace with memory, a skill, a credential file and a note that quotes a key, plus a
/// config holding three secrets.
fn agent(root: &Path) -> Target {
    let ws = root.join("workspace");
    std::fs::create_dir_all(ws.join("memory")).unwrap();
    std::fs::create_dir_all(ws.join("skills/synth-city/scripts")).unwrap();
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    std::fs::write(ws.join("MEMORY.md"), "BTC vol regime: calm\n").unwrap();
    std::fs::write(ws.join("memory/2026-12-06.md"), "trained lstm, crps 0.81\n").unwrap();
    std::fs::write(
        ws.join("skills/synth-city/SKILL.md"),
        "---\nname: synth-city\n---\n",
    )
    .unwrap();
    std::fs::write(ws.join("skills/synth-city/scripts/sc.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(
        ws.join(".env"),
        format!("MOLTBOOK_API_KEY={MOLTBOOK_KEY}\n"),
    )
    .unwrap();
    std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(
        ws.join("notes.md"),
        format!("the gateway token is {GATEWAY_TOKEN}\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = ws.join("skills/synth-city/scripts/sc.sh");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = root.join("openclaw.json");
    let cfg = json!({
        "agents": {"defaults": {"workspace": ws, "model": "chutes/kimi"}},
        "gateway": {"auth": {"token": GATEWAY_TOKEN}},
        "skills": {"entries": {"synth-city": {"apiKey": BOT_KEY, "env": {"SYNTH_BRIDGE_URL": "http://127.0.0.1:8377"}}}},
        "notes": MOLTBOOK_KEY
    });
    std::fs::write(&config, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    Target {
        workspace: ws,
        config: Some(config),
    }
}

async fn all_objects(mem: &InMemory) -> Vec<(String, Vec<u8>)> {
    let metas: Vec<_> = mem.list(None).try_collect().await.unwrap();
    let mut out = Vec::new();
    for m in metas {
        let b = mem.get(&m.location).await.unwrap().bytes().await.unwrap();
        out.push((m.location.to_string(), b.to_vec()));
    }
    out
}

#[tokio::test]
async fn secrets_never_reach_the_remote() {
    let dir = tempfile::tempdir().unwrap();
    let target = agent(dir.path());
    let (snaps, mem) = snaps();
    let out = push(&snaps, &target, Utc::now()).await.unwrap();
    assert!(out.report.created && out.config_included);
    let skipped: Vec<&str> = out.skipped.iter().map(|s| s.path.as_str()).collect();
    for p in [".env", ".git", "notes.md"] {
        assert!(skipped.contains(&p), "{p} not skipped: {skipped:?}");
    }
    assert!(out
        .config_stripped
        .contains(&"/gateway/auth/token".to_string()));
    let objects = all_objects(&mem).await;
    assert!(objects.len() >= 5, "{objects:?}");
    for (key, bytes) in &objects {
        let text = String::from_utf8_lossy(bytes);
        for s in [GATEWAY_TOKEN, BOT_KEY, MOLTBOOK_KEY] {
            assert!(!text.contains(s), "{s} uploaded in {key}");
        }
    }
    // What did go up: memory, the skill, and the config's harmless part.
    let names: Vec<&str> = out.skipped.iter().map(|s| s.why.as_str()).collect();
    assert!(!names.is_empty());
    let m = snaps.manifest(&out.report.version.version).await.unwrap();
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "config/openclaw.json",
            "workspace/MEMORY.md",
            "workspace/memory/2026-12-06.md",
            "workspace/skills/synth-city/SKILL.md",
            "workspace/skills/synth-city/scripts/sc.sh"
        ]
    );
}

#[tokio::test]
async fn restore_brings_back_any_version_and_keeps_local_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let target = agent(dir.path());
    let (snaps, _mem) = snaps();
    let t = |s: i64| Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap();
    let v1 = push(&snaps, &target, t(0)).await.unwrap().report.version;
    // Unchanged: no new version.
    assert!(!push(&snaps, &target, t(10)).await.unwrap().report.created);
    std::fs::write(target.workspace.join("MEMORY.md"), "BTC vol regime: wild\n").unwrap();
    std::fs::write(target.workspace.join("memory/2026-12-07.md"), "new day\n").unwrap();
    let v2 = push(&snaps, &target, t(20)).await.unwrap().report.version;
    assert_ne!(v1.version, v2.version);
    assert_eq!(snaps.history().await.unwrap(), vec![v1.clone(), v2.clone()]);

    // Back to v1 in place: v2's new file goes, local-only files stay, the config keeps its keys.
    let r = restore(&snaps, &target, &v1.hash[..10]).await.unwrap();
    assert_eq!(r.version, v1);
    assert!(r.config_restored);
    let ws = &target.workspace;
    assert_eq!(
        std::fs::read_to_string(ws.join("MEMORY.md")).unwrap(),
        "BTC vol regime: calm\n"
    );
    assert!(!ws.join("memory/2026-12-07.md").exists());
    assert!(
        ws.join(".env").exists() && ws.join(".git/HEAD").exists() && ws.join("notes.md").exists()
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.config.as_ref().unwrap()).unwrap()).unwrap();
    assert_eq!(cfg["gateway"]["auth"]["token"], GATEWAY_TOKEN);
    assert_eq!(cfg["skills"]["entries"]["synth-city"]["apiKey"], BOT_KEY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target.config.as_ref().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "config readable by others: {mode:o}");
        let mode = std::fs::metadata(ws.join("skills/synth-city/scripts/sc.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o100, 0o100);
    }

    // On a fresh machine (no workspace, no config): latest comes back, without any secret.
    let fresh = tempfile::tempdir().unwrap();
    let t2 = Target {
        workspace: fresh.path().join("ws"),
        config: Some(fresh.path().join("oc/openclaw.json")),
    };
    let r = restore(&snaps, &t2, "latest").await.unwrap();
    assert_eq!(r.version, v2);
    assert_eq!(
        std::fs::read_to_string(t2.workspace.join("memory/2026-12-07.md")).unwrap(),
        "new day\n"
    );
    let text = std::fs::read_to_string(t2.config.as_ref().unwrap()).unwrap();
    assert!(text.contains("chutes/kimi") && !text.contains(GATEWAY_TOKEN));
}

#[tokio::test]
async fn a_json5_config_is_left_out_not_half_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let target = agent(dir.path());
    let cfg = target.config.clone().unwrap();
    std::fs::write(
        &cfg,
        format!("{{ // json5\n gateway: {{ auth: {{ token: '{GATEWAY_TOKEN}' }} }} }}\n"),
    )
    .unwrap();
    let (snaps, mem) = snaps();
    let out = push(&snaps, &target, Utc::now()).await.unwrap();
    assert!(!out.config_included);
    assert!(out.config_note.unwrap().contains("not plain JSON"));
    for (key, bytes) in all_objects(&mem).await {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(GATEWAY_TOKEN),
            "{key}"
        );
    }
}
