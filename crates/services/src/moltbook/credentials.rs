//! The agent's Moltbook credentials on disk, where Moltbook's own skill keeps them
//! (`~/.config/moltbook/credentials.json`: `api_key`, `agent_name`, …), readable by the owner
//! only (0600, folder 0700) and written atomically (temporary file created 0600, synced,
//! renamed).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Secret, ServiceError, ServiceResult};

/// Overrides the credentials file's location.
pub const CREDENTIALS_ENV: &str = "MOLTBOOK_CREDENTIALS";

/// Largest credentials file read.
const MAX_BYTES: u64 = 64 * 1024;

/// What is stored about the agent. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key.
    pub api_key: Secret,
    /// The agent's name.
    pub agent_name: String,
    /// The claim URL (until claimed).
    pub claim_url: Option<String>,
    /// The claim's verification code.
    pub verification_code: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("agent_name", &self.agent_name)
            .field("claim_url", &self.claim_url)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    api_key: String,
    #[serde(default)]
    agent_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verification_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile_url: Option<String>,
}

/// The credentials file: `MOLTBOOK_CREDENTIALS`, else `$XDG_CONFIG_HOME/moltbook/credentials.json`,
/// else `~/.config/moltbook/credentials.json`.
pub fn default_path() -> Option<PathBuf> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(p) = var(CREDENTIALS_ENV) {
        return Some(PathBuf::from(p));
    }
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("moltbook").join("credentials.json"))
}

impl Credentials {
    /// Reads the credentials at `path` (default [`default_path`]); `Ok(None)` when there are
    /// none. A file others can read is narrowed to 0600 first.
    pub fn load(path: Option<&Path>) -> ServiceResult<Option<Self>> {
        let Some(path) = path.map(Path::to_path_buf).or_else(default_path) else {
            return Ok(None);
        };
        let io = |e: std::io::Error| ServiceError::Invalid(format!("{}: {e}", path.display()));
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if meta.len() > MAX_BYTES {
            return Err(ServiceError::Invalid(format!(
                "{}: larger than {MAX_BYTES} bytes",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "Moltbook credentials were readable by others; set to 0600");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
        let bytes = std::fs::read(&path).map_err(io)?;
        let w: Wire = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::Invalid(format!("{}: not Moltbook credentials: {e}", path.display()))
        })?;
        if w.api_key.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            api_key: Secret::new(w.api_key.trim()),
            agent_name: w.agent_name,
            claim_url: w.claim_url,
            verification_code: w.verification_code,
        }))
    }

    /// Writes the credentials to `path` (default [`default_path`]) atomically, 0600 from the
    /// first byte, the folder 0700. Returns the path.
    pub fn save(&self, path: Option<&Path>) -> ServiceResult<PathBuf> {
        let path = path
            .map(Path::to_path_buf)
            .or_else(default_path)
            .ok_or_else(|| {
                ServiceError::Invalid("no home directory: set HOME or MOLTBOOK_CREDENTIALS".into())
            })?;
        let w = Wire {
            api_key: self.api_key.expose().to_string(),
            agent_name: self.agent_name.clone(),
            claim_url: self.claim_url.clone(),
            verification_code: self.verification_code.clone(),
            profile_url: (!self.agent_name.is_empty())
                .then(|| format!("https://www.moltbook.com/u/{}", self.agent_name)),
        };
        let mut bytes = serde_json::to_vec_pretty(&w)
            .map_err(|e| ServiceError::Invalid(format!("encoding credentials: {e}")))?;
        bytes.push(b'\n');
        market::atomic::write_secret(&path, &bytes)
            .map_err(|e| ServiceError::Invalid(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    }
}
