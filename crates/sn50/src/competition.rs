//! The two SN50 competitions as types: [`Competition`] (LOW / HIGH, the prompt) and
//! [`Timeframe`] (`5m` / `1m`, its step as the research records and JSON name it).
//!
//! Both are the one spelling every crate uses: parse once at the edge (`FromStr`, serde), pass
//! the enum inside. Their strings are the ones already stored: a competition is `low` / `high`,
//! a timeframe `5m` / `1m`.
//!
//! ```
//! use sn50::{Competition, Timeframe};
//! let c: Competition = "high".parse().unwrap();
//! assert_eq!(c.timeframe(), Timeframe::High1m);
//! assert_eq!((c.time_length(), c.time_increment(), c.steps()), (3600, 60, 60));
//! assert_eq!("5m".parse::<Timeframe>().unwrap().competition(), Competition::Low);
//! assert!("2m".parse::<Timeframe>().unwrap_err().to_string().contains("5m, 1m"));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{PromptConfig, ScoringInterval, HIGH, LOW};

/// A name that is not one of a vocabulary's values; `Display` lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; valid: {valid}")]
pub struct UnknownName {
    /// What was parsed (`competition`, `timeframe`, `asset`).
    pub what: &'static str,
    /// The refused input (at most 40 characters of it).
    pub given: String,
    /// The accepted names, comma-separated.
    pub valid: String,
}

impl UnknownName {
    pub(crate) fn new(what: &'static str, given: &str, valid: &[&str]) -> Self {
        Self {
            what,
            given: given.chars().take(40).collect(),
            valid: valid.join(", "),
        }
    }
}

/// One of the two SN50 prompt competitions. Serialised (and parsed) as `low` / `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Competition {
    /// LOW_FREQUENCY: 24 h at 5-minute steps ([`LOW`]).
    Low,
    /// HIGH_FREQUENCY (HFT): 1 h at 1-minute steps ([`HIGH`]).
    High,
}

impl Competition {
    /// Both competitions, LOW first.
    pub const ALL: [Competition; 2] = [Competition::Low, Competition::High];

    /// The validator's config of this competition.
    pub fn cfg(self) -> &'static PromptConfig {
        match self {
            Self::Low => &LOW,
            Self::High => &HIGH,
        }
    }

    /// `low` / `high`, as the validator labels them.
    pub fn label(self) -> &'static str {
        self.cfg().label
    }

    /// Forecast horizon in seconds (86,400 / 3,600).
    pub fn time_length(self) -> i64 {
        self.cfg().time_length
    }

    /// Seconds between path points (300 / 60).
    pub fn time_increment(self) -> i64 {
        self.cfg().time_increment
    }

    /// Steps per horizon (288 / 60); a path has one more point ([`Competition::points`]).
    pub fn steps(self) -> usize {
        (self.time_length() / self.time_increment()) as usize
    }

    /// Points per path (289 / 61).
    pub fn points(self) -> usize {
        self.cfg().points()
    }

    /// The scoring intervals, in the validator's order.
    pub fn scoring_intervals(self) -> &'static [ScoringInterval] {
        self.cfg().scoring_intervals
    }

    /// The step of this competition's paths as a [`Timeframe`].
    pub fn timeframe(self) -> Timeframe {
        match self {
            Self::Low => Timeframe::Low5m,
            Self::High => Timeframe::High1m,
        }
    }

    /// The competition of a prompt's horizon and step; `None` for any other pair.
    pub fn of(time_length: i64, time_increment: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.time_length() == time_length && c.time_increment() == time_increment)
    }

    /// Seconds between two prompts of one asset: the cycle times the rotation length
    /// (LOW 1 h, HIGH 10 min).
    pub fn asset_cadence_secs(self) -> i64 {
        let c = self.cfg();
        c.cycle_interval_minutes * 60 * c.asset_list.len() as i64
    }
}

impl fmt::Display for Competition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Competition {
    type Err = UnknownName;

    /// `low` / `high` in any case; also the validator's other names (`24h`, `1h`, `hft`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" | "24h" => Ok(Self::Low),
            "high" | "1h" | "hft" => Ok(Self::High),
            _ => Err(UnknownName::new("competition", s, &["low", "high"])),
        }
    }
}

/// A path step as research records, model specs and JSON requests name it: `5m` (LOW's
/// 5-minute steps over 24 h) or `1m` (HIGH's 1-minute steps over 1 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timeframe {
    /// `5m`: 288 steps of 300 s ([`Competition::Low`]).
    Low5m,
    /// `1m`: 60 steps of 60 s ([`Competition::High`]).
    High1m,
}

impl Timeframe {
    /// Both timeframes, `5m` first.
    pub const ALL: [Timeframe; 2] = [Timeframe::Low5m, Timeframe::High1m];

    /// `5m` or `1m`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low5m => "5m",
            Self::High1m => "1m",
        }
    }

    /// The competition whose paths step at this timeframe.
    pub fn competition(self) -> Competition {
        match self {
            Self::Low5m => Competition::Low,
            Self::High1m => Competition::High,
        }
    }

    /// Seconds per step (300 or 60).
    pub fn step_secs(self) -> u32 {
        self.competition().time_increment() as u32
    }

    /// Steps per horizon (288 or 60); paths have one more point.
    pub fn horizon(self) -> usize {
        self.competition().steps()
    }

    /// [`FromStr`] as an `Option`: `5m` or `1m`, else `None`.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The timeframe of a candle resolution in seconds (300 or 60); `None` for others.
    pub fn of_step_secs(secs: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| i64::from(t.step_secs()) == secs)
    }
}

/// `5m`: what a model spec, an experiment or a run without a timeframe trains and scores at
/// (LOW, the competition with the larger weight).
impl Default for Timeframe {
    fn default() -> Self {
        Self::Low5m
    }
}

impl Timeframe {
    /// The other timeframe (`5m` ↔ `1m`).
    pub fn other(self) -> Self {
        match self {
            Self::Low5m => Self::High1m,
            Self::High1m => Self::Low5m,
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timeframe {
    type Err = UnknownName;

    /// Exactly `5m` or `1m` (surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "5m" => Ok(Self::Low5m),
            "1m" => Ok(Self::High1m),
            _ => Err(UnknownName::new("timeframe", s, &["5m", "1m"])),
        }
    }
}

/// Serde as the `Display` string; deserialised through `FromStr`.
macro_rules! serde_as_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_str;

serde_as_str!(Competition);
serde_as_str!(Timeframe);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn competitions_follow_the_validator_config() {
        let low = Competition::Low;
        assert_eq!((low.time_length(), low.time_increment()), (86_400, 300));
        assert_eq!((low.steps(), low.points()), (288, 289));
        assert_eq!(low.scoring_intervals().len(), 4);
        let high = Competition::High;
        assert_eq!((high.time_length(), high.time_increment()), (3600, 60));
        assert_eq!((high.steps(), high.points()), (60, 61));
        assert_eq!(high.scoring_intervals().len(), 18);
        assert_eq!(low.asset_cadence_secs(), 3600);
        assert_eq!(high.asset_cadence_secs(), 600);
        assert_eq!(Competition::of(86_400, 300), Some(low));
        assert_eq!(Competition::of(3600, 60), Some(high));
        assert_eq!(Competition::of(3600, 300), None);
        assert_eq!(Competition::of(7200, 60), None);
    }

    #[test]
    fn competition_names_round_trip() {
        for c in Competition::ALL {
            assert_eq!(c.to_string().parse::<Competition>().unwrap(), c);
            let j = serde_json::to_string(&c).unwrap();
            assert_eq!(j, format!("\"{}\"", c.label()));
            assert_eq!(serde_json::from_str::<Competition>(&j).unwrap(), c);
        }
        assert_eq!(" LOW ".parse::<Competition>().unwrap(), Competition::Low);
        assert_eq!("24h".parse::<Competition>().unwrap(), Competition::Low);
        assert_eq!("HFT".parse::<Competition>().unwrap(), Competition::High);
        let e = "mid".parse::<Competition>().unwrap_err().to_string();
        assert_eq!(e, r#"unknown competition "mid"; valid: low, high"#);
        assert!(serde_json::from_str::<Competition>("\"mid\"").is_err());
    }

    #[test]
    fn timeframes_are_the_stored_strings() {
        for t in Timeframe::ALL {
            assert_eq!(t.as_str().parse::<Timeframe>().unwrap(), t);
            assert_eq!(t.competition().timeframe(), t);
            assert_eq!(Timeframe::of_step_secs(i64::from(t.step_secs())), Some(t));
            let j = serde_json::to_string(&t).unwrap();
            assert_eq!(j, format!("\"{t}\""));
            assert_eq!(serde_json::from_str::<Timeframe>(&j).unwrap(), t);
            assert_ne!(t.other(), t);
            assert_eq!(t.other().other(), t);
        }
        assert_eq!(Timeframe::default(), Timeframe::Low5m);
        assert_eq!(Timeframe::Low5m.as_str(), "5m");
        assert_eq!(Timeframe::High1m.as_str(), "1m");
        assert_eq!(
            (Timeframe::Low5m.step_secs(), Timeframe::Low5m.horizon()),
            (300, 288)
        );
        assert_eq!(
            (Timeframe::High1m.step_secs(), Timeframe::High1m.horizon()),
            (60, 60)
        );
        assert_eq!(Timeframe::of_step_secs(900), None);
        assert_eq!(Timeframe::parse("1m"), Some(Timeframe::High1m));
        assert_eq!(Timeframe::parse("1h"), None);
        // Exact: the stored strings, nothing else.
        for bad in ["5M", "5min", "low", "", "15m"] {
            let e = bad.parse::<Timeframe>().unwrap_err();
            assert!(e.to_string().ends_with("valid: 5m, 1m"), "{e}");
        }
        let long = "x".repeat(100);
        let e = long.parse::<Timeframe>().unwrap_err();
        assert_eq!(e.given.len(), 40);
    }
}
