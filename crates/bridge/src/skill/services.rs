//! The skills of the intelligence services (`skills/<name>/SKILL.md` in the repository), one per
//! service, installed beside the synth-city skill: each tells an OpenClaw agent how to use the
//! service through the `synth-city` CLI, and declares the key it needs (`primaryEnv`), so that
//! OpenClaw reports it ready only when the key is there.

use std::path::{Path, PathBuf};

use super::SkillError;

/// The service skills: name (= folder) and `SKILL.md`.
pub const SERVICE_SKILLS: &[(&str, &str)] = &[
    (
        "desearch",
        include_str!("../../../../skills/desearch/SKILL.md"),
    ),
    (
        "data-universe",
        include_str!("../../../../skills/data-universe/SKILL.md"),
    ),
    (
        "gradients",
        include_str!("../../../../skills/gradients/SKILL.md"),
    ),
    (
        "chutes-models",
        include_str!("../../../../skills/chutes-models/SKILL.md"),
    ),
];

/// Writes every service skill into `<workspace>/skills/<name>/SKILL.md` (atomically, 0644);
/// returns the files written.
pub fn write(workspace: &Path) -> Result<Vec<PathBuf>, SkillError> {
    let mut out = Vec::new();
    for (name, content) in SERVICE_SKILLS {
        let p = workspace.join("skills").join(name).join("SKILL.md");
        let io = |source| SkillError::Io {
            path: p.clone(),
            source,
        };
        std::fs::create_dir_all(p.parent().unwrap_or(workspace)).map_err(io)?;
        crate::workspace::write_atomic(&p, content.as_bytes()).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).map_err(io)?;
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_skill_has_front_matter_naming_its_folder_and_key() {
        for (name, md) in SERVICE_SKILLS {
            let front = md
                .strip_prefix("---\n")
                .and_then(|r| r.split_once("\n---\n"))
                .map(|(f, _)| f)
                .unwrap_or_else(|| panic!("{name}: no front matter"));
            assert!(front.contains(&format!("name: {name}\n")), "{name}");
            let meta = front
                .lines()
                .find_map(|l| l.strip_prefix("metadata: "))
                .unwrap_or_else(|| panic!("{name}: no metadata"));
            let v: serde_json::Value = serde_json::from_str(meta).unwrap();
            assert_eq!(v["openclaw"]["requires"]["bins"][0], "synth-city", "{name}");
            assert!(v["openclaw"]["primaryEnv"].is_string(), "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path()).unwrap();
        assert_eq!(files.len(), SERVICE_SKILLS.len());
        assert!(dir.path().join("skills/data-universe/SKILL.md").is_file());
    }
}
