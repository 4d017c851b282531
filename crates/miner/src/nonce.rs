//! Replay protection: bittensor's nonce rules (a nonce must be newer than the
//! last one seen and within the allowed clock skew), per `hotkey:uuid`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::headers::V_7_2_0;

/// Grace added to the request timeout for a first nonce: 4 s (`ALLOWED_DELTA`).
pub const ALLOWED_DELTA_NS: u128 = 4_000_000_000;

/// Why a nonce was refused; the messages are bittensor's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NonceError {
    /// No nonce header.
    #[error("Missing Nonce")]
    Missing,
    /// First nonce for this endpoint, older than `4 s + timeout`.
    #[error("Nonce is too old: acceptable delta is {allowed_s:.2} seconds but request was {age_s:.2} seconds old")]
    TooOld {
        /// Allowed age, seconds.
        allowed_s: f64,
        /// The request's age, seconds.
        age_s: f64,
    },
    /// Not newer than the last nonce accepted for this endpoint.
    #[error("Nonce is too old, a newer one was last processed")]
    NotNewer,
}

/// The last nonce accepted per `"{hotkey}:{uuid}"` endpoint key.
#[derive(Debug, Default)]
pub struct NonceStore {
    last: Mutex<HashMap<String, u64>>,
}

/// One request's nonce facts.
#[derive(Debug, Clone, Copy)]
pub struct NonceCheck<'a> {
    /// `hotkey:uuid`.
    pub endpoint_key: &'a str,
    /// The nonce, if sent.
    pub nonce: Option<u64>,
    /// The dendrite version, if sent.
    pub version: Option<u64>,
    /// The request timeout (seconds).
    pub timeout_s: f64,
    /// Now, unix nanoseconds.
    pub now_ns: u128,
}

impl NonceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a nonce without recording it (run before the signature check).
    pub fn check(&self, c: &NonceCheck<'_>) -> Result<u64, NonceError> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        Self::check_locked(&last, c)
    }

    fn check_locked(last: &HashMap<String, u64>, c: &NonceCheck<'_>) -> Result<u64, NonceError> {
        let nonce = c.nonce.ok_or(NonceError::Missing)?;
        let stored = last.get(c.endpoint_key).copied();
        if c.version.is_some_and(|v| v >= V_7_2_0) && stored.is_none() {
            // Saturating: a `timeout` header of 1e300 must not overflow (the cast saturates too).
            let allowed = ALLOWED_DELTA_NS.saturating_add((c.timeout_s.max(0.0) * 1e9) as u128);
            let expected = c.now_ns.saturating_sub(allowed);
            if u128::from(nonce) <= expected {
                return Err(NonceError::TooOld {
                    allowed_s: allowed as f64 / 1e9,
                    age_s: c.now_ns.saturating_sub(u128::from(nonce)) as f64 / 1e9,
                });
            }
        }
        match stored {
            Some(s) if nonce <= s => Err(NonceError::NotNewer),
            _ => Ok(nonce),
        }
    }

    /// Re-checks and records a nonce atomically (run after the signature verified), so two
    /// concurrent requests with the same nonce cannot both pass.
    pub fn commit(&self, c: &NonceCheck<'_>) -> Result<(), NonceError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let nonce = Self::check_locked(&last, c)?;
        last.insert(c.endpoint_key.to_string(), nonce);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u128 = 1_795_313_260_000_000_000;

    fn c(key: &str, nonce: u64, version: Option<u64>, timeout_s: f64) -> NonceCheck<'_> {
        NonceCheck {
            endpoint_key: key,
            nonce: Some(nonce),
            version,
            timeout_s,
            now_ns: NOW,
        }
    }

    #[test]
    fn first_nonce_must_be_recent_for_new_dendrites() {
        let s = NonceStore::new();
        let v = Some(10_000_001);
        // 3.27 s old with timeout 12: inside 16 s.
        assert!(s
            .check(&c("a:u", 1_795_313_256_730_679_712, v, 12.0))
            .is_ok());
        // 20 s old with timeout 12: refused, with bittensor's message.
        let old = (NOW - 20_000_000_000) as u64;
        let e = s.check(&c("a:u", old, v, 12.0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Nonce is too old: acceptable delta is 16.00 seconds but request was 20.00 seconds old"
        );
        // Exactly at the boundary is refused (`nonce <= now - delta`).
        let edge = (NOW - 16_000_000_000) as u64;
        assert!(s.check(&c("a:u", edge, v, 12.0)).is_err());
        assert!(s.check(&c("a:u", edge + 1, v, 12.0)).is_ok());
        // Old dendrites skip the age check.
        assert!(s.check(&c("a:u", old, Some(7_001_999), 12.0)).is_ok());
        assert_eq!(
            s.check(&NonceCheck {
                nonce: None,
                ..c("a:u", 0, v, 12.0)
            }),
            Err(NonceError::Missing)
        );
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let s = NonceStore::new();
        let v = Some(10_000_001);
        for t in [1e300, f64::MAX, 1.8e10] {
            assert!(s.check(&c("a:u", 1, v, t)).is_ok(), "{t}");
        }
    }

    #[test]
    fn replay_is_refused_and_keys_are_independent() {
        let s = NonceStore::new();
        let v = Some(10_000_001);
        let n = (NOW - 1_000_000_000) as u64;
        s.commit(&c("a:u", n, v, 12.0)).unwrap();
        assert_eq!(s.commit(&c("a:u", n, v, 12.0)), Err(NonceError::NotNewer));
        assert_eq!(
            s.check(&c("a:u", n - 1, v, 12.0)),
            Err(NonceError::NotNewer)
        );
        assert!(s.commit(&c("a:u", n + 1, v, 12.0)).is_ok());
        // Another uuid of the same validator has its own sequence.
        assert!(s.commit(&c("a:u2", n, v, 12.0)).is_ok());
        // A stored key is only checked for monotonicity, even when old.
        assert!(s.check(&c("a:u", n + 2, v, 0.0)).is_ok());
    }
}
