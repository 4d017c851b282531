//! `--network`: bittensor's network names (`core/settings.py`) or an endpoint URL.

/// Finney's public entrypoint (bittensor `core/settings.py`; synth `verify/validator-permit.py`).
pub const FINNEY_URL: &str = "wss://entrypoint-finney.opentensor.ai:443";
/// The test network.
pub const TEST_URL: &str = "wss://test.finney.opentensor.ai:443";
/// Finney's archive nodes (full history).
pub const ARCHIVE_URL: &str = "wss://archive.chain.opentensor.ai:443";
/// A node on this machine (`subtensor --dev`, bittensor's `local`).
pub const LOCAL_URL: &str = "ws://127.0.0.1:9944";
/// The names [`network_url`] knows.
pub const NETWORK_NAMES: [&str; 4] = ["finney", "test", "archive", "local"];

/// The endpoint of `network`: `finney`, `test`, `archive`, `local` (any case), or a `ws://` /
/// `wss://` URL taken as it is. The error lists what is accepted.
pub fn network_url(network: &str) -> Result<String, String> {
    let n = network.trim();
    let url = match n.to_ascii_lowercase().as_str() {
        "finney" => FINNEY_URL,
        "test" => TEST_URL,
        "archive" => ARCHIVE_URL,
        "local" => LOCAL_URL,
        lower if lower.starts_with("ws://") || lower.starts_with("wss://") => {
            if n.len() <= lower.find("://").unwrap_or(0) + 3 {
                return Err(format!("--network {n:?}: the URL has no host"));
            }
            return Ok(n.to_string());
        }
        _ => {
            return Err(format!(
                "--network {:?}: expected one of {} or a ws:// / wss:// URL",
                super::redact_url(n),
                NETWORK_NAMES.join(", ")
            ))
        }
    };
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_network_names_and_urls() {
        assert_eq!(network_url("finney").unwrap(), FINNEY_URL);
        assert_eq!(network_url("Test").unwrap(), TEST_URL);
        assert_eq!(network_url("local").unwrap(), LOCAL_URL);
        assert_eq!(network_url("archive").unwrap(), ARCHIVE_URL);
        assert_eq!(
            network_url("ws://10.0.0.2:9944").unwrap(),
            "ws://10.0.0.2:9944"
        );
        assert_eq!(
            network_url("wss://rpc.example/KEY").unwrap(),
            "wss://rpc.example/KEY"
        );
        let e = network_url("mainnet").unwrap_err();
        assert!(e.contains("finney, test, archive, local"), "{e}");
        assert!(network_url("wss://").is_err());
        assert!(network_url("https://rpc.example").is_err());
        // A URL-looking typo with a key in it is shown redacted.
        let e = network_url("htps://user:pw@rpc.example/KEY").unwrap_err();
        assert!(!e.contains("KEY") && !e.contains("pw"), "{e}");
    }
}
