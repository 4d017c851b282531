//! A skill folder read for publishing: `SKILL.md`'s front matter (name, version, description)
//! and every file under the folder with its size and SHA-256, within ClawHub's 50 MB bundle cap.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ServiceError, ServiceResult};

/// ClawHub's cap on a skill bundle.
pub const MAX_BUNDLE_BYTES: u64 = 50 * 1000 * 1000;

/// A semantic version `major.minor.patch` (a pre-release or build suffix is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// Parses `1.2.3` (a leading `v` allowed).
    pub fn parse(s: &str) -> ServiceResult<Self> {
        let t = s.trim().trim_start_matches('v');
        let parts: Vec<&str> = t.split('.').collect();
        let nums: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
        match nums.as_deref() {
            Some([a, b, c]) if parts.len() == 3 => Ok(Version(*a, *b, *c)),
            _ => Err(ServiceError::Invalid(format!(
                "{s:?} is not a version: expected major.minor.patch"
            ))),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillFile {
    /// Path inside the skill folder (`/`-separated).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Media type.
    #[serde(rename = "contentType")]
    pub content_type: String,
    /// Bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A skill folder ready to publish.
#[derive(Debug, Clone)]
pub struct SkillPackage {
    /// Slug (the front matter's `name`).
    pub slug: String,
    /// Version from the front matter.
    pub version: Version,
    /// Description from the front matter.
    pub description: String,
    /// Files, sorted by path (`SKILL.md` among them).
    pub files: Vec<SkillFile>,
}

impl SkillPackage {
    /// Reads `dir`: `SKILL.md` must exist with `name` and `version` in its front matter. Hidden
    /// files and folders are left out; symbolic links are refused.
    pub fn from_dir(dir: &Path) -> ServiceResult<Self> {
        let mut files = Vec::new();
        let mut total = 0u64;
        collect(dir, dir, &mut files, &mut total)?;
        Self::from_files(files.into_iter().map(|f| (f.path, f.bytes)).collect())
    }

    /// A package of `(path, bytes)` files (e.g. a skill embedded in the binary): `SKILL.md`
    /// must be among them with `name` and `version` in its front matter.
    pub fn from_files(files: Vec<(String, Vec<u8>)>) -> ServiceResult<Self> {
        let skill_md = files
            .iter()
            .find(|(p, _)| p == "SKILL.md")
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .ok_or_else(|| ServiceError::Invalid("the skill has no SKILL.md".into()))?;
        let fm = front_matter(&skill_md);
        let get = |k: &str| fm.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let slug = get("name")
            .ok_or_else(|| ServiceError::Invalid("SKILL.md front matter has no `name`".into()))?;
        if slug.is_empty()
            || slug.len() > 64
            || !slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ServiceError::Invalid(format!(
                "skill name {slug:?}: lower-case letters, digits and - only"
            )));
        }
        let version = Version::parse(&get("version").ok_or_else(|| {
            ServiceError::Invalid("SKILL.md front matter has no `version`".into())
        })?)?;
        let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        if total > MAX_BUNDLE_BYTES {
            return Err(ServiceError::Invalid(format!(
                "the skill is larger than ClawHub's {MAX_BUNDLE_BYTES}-byte bundle limit"
            )));
        }
        let mut files: Vec<SkillFile> = files
            .into_iter()
            .map(|(path, bytes)| SkillFile {
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(&bytes)),
                content_type: content_type(&path).into(),
                path,
                bytes,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self {
            slug,
            version,
            description: get("description").unwrap_or_default(),
            files,
        })
    }

    /// Total size of the bundle.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<SkillFile>,
    total: &mut u64,
) -> ServiceResult<()> {
    let io = |e: std::io::Error| ServiceError::Invalid(format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let ft = entry.file_type().map_err(io)?;
        let path = entry.path();
        if ft.is_symlink() {
            return Err(ServiceError::Invalid(format!(
                "{}: symbolic links are not published",
                path.display()
            )));
        }
        if ft.is_dir() {
            collect(root, &path, out, total)?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io)?;
        *total += bytes.len() as u64;
        if *total > MAX_BUNDLE_BYTES {
            return Err(ServiceError::Invalid(format!(
                "the skill is larger than ClawHub's {MAX_BUNDLE_BYTES}-byte bundle limit"
            )));
        }
        let rel = path
            .strip_prefix(root)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        out.push(SkillFile {
            size: bytes.len() as u64,
            sha256: String::new(),
            content_type: String::new(),
            path: rel,
            bytes,
        });
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "md" => "text/markdown",
        "sh" => "text/x-shellscript",
        "json" => "application/json",
        "py" => "text/x-python",
        "js" | "mjs" => "text/javascript",
        "txt" => "text/plain",
        "yaml" | "yml" => "application/yaml",
        _ => "application/octet-stream",
    }
}

/// `key: value` pairs of the `---` front matter (top-level scalars; quotes stripped).
fn front_matter(md: &str) -> Vec<(String, String)> {
    let mut lines = md.lines();
    if lines.next().map(str::trim) != Some("---") {
        return Vec::new();
    }
    lines
        .take_while(|l| l.trim() != "---")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches(['"', '\'']).to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(Version::parse("0.10.0").unwrap() > Version::parse("0.9.9").unwrap());
        assert_eq!(Version::parse("v1.2.3").unwrap().to_string(), "1.2.3");
        assert!(Version::parse("1.2").is_err());
        assert!(Version::parse("1.2.3-rc1").is_err());
    }

    #[test]
    fn front_matter_reads_scalars() {
        let fm = front_matter(
            "---\nname: x\nversion: \"0.2.0\"\nmetadata: {\"a\":1}\n---\n# x\nname: no\n",
        );
        assert!(fm.contains(&("name".into(), "x".into())));
        assert!(fm.contains(&("version".into(), "0.2.0".into())));
        assert!(!fm.contains(&("name".into(), "no".into())));
    }
}
