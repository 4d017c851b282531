//! Feed monitoring and engagement rules: a pure function from (rules, state, posts, time) to
//! the events an agent reacts to — reply to this thread, upvote that post, or why a matching
//! post was passed over. Caps are counted when a reply is *planned*, so a burst of matching
//! posts never yields more than the daily cap; a thread gets at most one reply, ever; nothing
//! is planned in quiet hours (the posts come back after them).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::types::Post;

/// Posts remembered as handled (oldest forgotten first).
pub const MAX_SEEN: usize = 5_000;

/// Quiet hours, in local time (`utc_offset_minutes` from UTC): `[start, end)`, wrapping past
/// midnight when `start > end` (22 → 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// First quiet hour (0-23).
    pub start: u8,
    /// First hour after the quiet (0-23).
    pub end: u8,
    /// Offset of local time from UTC in minutes.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

impl QuietHours {
    /// Whether `now` (Unix seconds) falls in the quiet hours.
    pub fn contains(&self, now: i64) -> bool {
        let h = local_secs(now, self.utc_offset_minutes).rem_euclid(86_400) / 3600;
        let (s, e) = (i64::from(self.start % 24), i64::from(self.end % 24));
        if s <= e {
            (s..e).contains(&h)
        } else {
            h >= s || h < e
        }
    }
}

fn local_secs(now: i64, offset_minutes: i32) -> i64 {
    now + i64::from(offset_minutes) * 60
}

/// The engagement rules (a JSON file; every field but `topics` has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngagementRules {
    /// Topics to watch: words or phrases, matched case-insensitively in title and text.
    pub topics: Vec<String>,
    /// Only these submolts (empty: all).
    #[serde(default)]
    pub submolts: Vec<String>,
    /// Topics a post must match before a reply is planned (default 1).
    #[serde(default = "one")]
    pub reply_min_topics: usize,
    /// Upvotes a post must have before a reply is planned (default 0).
    #[serde(default)]
    pub reply_min_upvotes: i64,
    /// Replies planned per local day (default 5; Moltbook's own cap is 50 comments/day).
    #[serde(default = "five")]
    pub daily_reply_cap: u32,
    /// Whether matching posts are upvoted (default true).
    #[serde(default = "yes")]
    pub upvote_matches: bool,
    /// Upvotes per local day (default 20).
    #[serde(default = "twenty")]
    pub daily_upvote_cap: u32,
    /// Quiet hours (none by default).
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// This agent's name: its own posts are never engaged with.
    #[serde(default)]
    pub agent_name: Option<String>,
    /// Authors never engaged with.
    #[serde(default)]
    pub ignore_authors: Vec<String>,
}

fn one() -> usize {
    1
}
fn five() -> u32 {
    5
}
fn twenty() -> u32 {
    20
}
fn yes() -> bool {
    true
}

impl EngagementRules {
    /// Rules for these topics with every default.
    pub fn for_topics(topics: &[&str]) -> Self {
        Self {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            submolts: Vec::new(),
            reply_min_topics: 1,
            reply_min_upvotes: 0,
            daily_reply_cap: five(),
            upvote_matches: true,
            daily_upvote_cap: twenty(),
            quiet_hours: None,
            agent_name: None,
            ignore_authors: Vec::new(),
        }
    }

    /// Checks the rules make sense (topics given, hours in range).
    pub fn validate(&self) -> Result<(), String> {
        if self.topics.iter().all(|t| t.trim().is_empty()) {
            return Err("rules: give at least one topic".into());
        }
        if let Some(q) = self.quiet_hours {
            if q.start > 23 || q.end > 23 || q.utc_offset_minutes.abs() > 14 * 60 {
                return Err("rules: quiet hours are 0-23, the offset within ±14 h".into());
            }
        }
        Ok(())
    }

    /// The topics `post` matches.
    pub fn matches(&self, post: &Post) -> Vec<String> {
        let text = format!(
            "{}\n{}",
            post.title,
            post.content.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        self.topics
            .iter()
            .filter(|t| !t.trim().is_empty() && text.contains(&t.trim().to_lowercase()))
            .cloned()
            .collect()
    }
}

/// What the engine remembers between runs (a JSON file beside the rules).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementState {
    /// Local day (days since the epoch, local time) the counters are for.
    #[serde(default)]
    pub day: i64,
    /// Replies planned or made today.
    #[serde(default)]
    pub replies_today: u32,
    /// Upvotes planned today.
    #[serde(default)]
    pub upvotes_today: u32,
    /// Threads replied to (never again).
    #[serde(default)]
    pub replied: BTreeSet<String>,
    /// Threads with a reply planned (counted in `replies_today`) and the day it was planned.
    #[serde(default)]
    pub planned: BTreeMap<String, i64>,
    /// Posts already handled, oldest first.
    #[serde(default)]
    pub seen: VecDeque<String>,
}

/// A post as an event names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRef {
    /// Post id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Submolt.
    pub submolt: Option<String>,
    /// Author.
    pub author: Option<String>,
}

impl PostRef {
    fn of(p: &Post) -> Self {
        Self {
            id: p.id.clone(),
            title: p.title.clone(),
            submolt: p.submolt.as_ref().map(|s| s.name.clone()),
            author: p.author.as_ref().map(|a| a.name.clone()),
        }
    }
}

/// Why a matching post was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Inside the quiet hours (the post comes back after them).
    QuietHours,
    /// Today's reply cap is reached.
    ReplyCap,
    /// This thread was replied to already.
    AlreadyReplied,
    /// Below the reply thresholds (topics or upvotes); upvoted at most.
    BelowThreshold,
}

/// An event for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Write a reply to this post (then record it with `moltbook reply`).
    Reply {
        /// The post.
        post: PostRef,
        /// Topics matched.
        topics: Vec<String>,
    },
    /// Upvote this post.
    Upvote {
        /// The post.
        post: PostRef,
        /// Topics matched.
        topics: Vec<String>,
    },
    /// A matching post no reply was planned for, and why.
    Skip {
        /// The post.
        post: PostRef,
        /// Topics matched.
        topics: Vec<String>,
        /// Why.
        reason: SkipReason,
    },
}

/// Why a reply is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The thread has a reply already.
    #[error("this thread was replied to already (one reply per thread)")]
    AlreadyReplied,
    /// Quiet hours.
    #[error("quiet hours: no replies now")]
    QuietHours,
    /// Today's cap is reached.
    #[error("today's reply cap is reached")]
    ReplyCap,
}

impl EngagementState {
    /// Starts a new day's counters when the local day changed (plans of past days lapse).
    pub fn roll(&mut self, rules: &EngagementRules, now: i64) {
        let offset = rules.quiet_hours.map_or(0, |q| q.utc_offset_minutes);
        let day = local_secs(now, offset).div_euclid(86_400);
        if day != self.day {
            self.day = day;
            self.replies_today = 0;
            self.upvotes_today = 0;
            self.planned.retain(|_, d| *d == day);
        }
    }

    fn mark_seen(&mut self, id: &str) {
        self.seen.push_back(id.to_string());
        while self.seen.len() > MAX_SEEN {
            self.seen.pop_front();
        }
    }

    /// Whether a reply to `post_id` may be made now; see [`EngagementState::record_reply`].
    pub fn check_reply(
        &mut self,
        rules: &EngagementRules,
        post_id: &str,
        now: i64,
    ) -> Result<(), Refusal> {
        self.roll(rules, now);
        if self.replied.contains(post_id) {
            return Err(Refusal::AlreadyReplied);
        }
        if rules.quiet_hours.is_some_and(|q| q.contains(now)) {
            return Err(Refusal::QuietHours);
        }
        if !self.planned.contains_key(post_id) && self.replies_today >= rules.daily_reply_cap {
            return Err(Refusal::ReplyCap);
        }
        Ok(())
    }

    /// Records a reply made to `post_id` (a planned one was counted already).
    pub fn record_reply(&mut self, rules: &EngagementRules, post_id: &str, now: i64) {
        self.roll(rules, now);
        if self.planned.remove(post_id).is_none() {
            self.replies_today += 1;
        }
        self.replied.insert(post_id.to_string());
    }
}

/// Plans the events for `posts` seen at `now` (Unix seconds), updating `state`: each post is
/// handled once; replies count against the cap as they are planned.
pub fn plan(
    rules: &EngagementRules,
    state: &mut EngagementState,
    posts: &[Post],
    now: i64,
) -> Vec<Event> {
    state.roll(rules, now);
    let quiet = rules.quiet_hours.is_some_and(|q| q.contains(now));
    let me = rules.agent_name.as_deref().map(str::to_lowercase);
    let mut events = Vec::new();
    for p in posts {
        if state.seen.iter().any(|s| s == &p.id) {
            continue;
        }
        let author = p.author.as_ref().map(|a| a.name.to_lowercase());
        let own = author.is_some() && author == me;
        let ignored = author
            .as_ref()
            .is_some_and(|a| rules.ignore_authors.iter().any(|i| i.to_lowercase() == *a));
        let in_submolt = rules.submolts.is_empty()
            || p.submolt.as_ref().is_some_and(|s| {
                rules
                    .submolts
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(&s.name))
            });
        let topics = rules.matches(p);
        if own || ignored || !in_submolt || topics.is_empty() {
            if !quiet {
                state.mark_seen(&p.id);
            }
            continue;
        }
        let post = PostRef::of(p);
        if quiet {
            events.push(Event::Skip {
                post,
                topics,
                reason: SkipReason::QuietHours,
            });
            continue;
        }
        state.mark_seen(&p.id);
        if rules.upvote_matches && state.upvotes_today < rules.daily_upvote_cap {
            state.upvotes_today += 1;
            events.push(Event::Upvote {
                post: post.clone(),
                topics: topics.clone(),
            });
        }
        let reason = if state.replied.contains(&p.id) || state.planned.contains_key(&p.id) {
            Some(SkipReason::AlreadyReplied)
        } else if topics.len() < rules.reply_min_topics.max(1)
            || p.upvotes < rules.reply_min_upvotes
        {
            Some(SkipReason::BelowThreshold)
        } else if state.replies_today >= rules.daily_reply_cap {
            Some(SkipReason::ReplyCap)
        } else {
            None
        };
        match reason {
            Some(reason) => events.push(Event::Skip {
                post,
                topics,
                reason,
            }),
            None => {
                state.replies_today += 1;
                state.planned.insert(p.id.clone(), state.day);
                events.push(Event::Reply { post, topics });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moltbook::types::{NameRef, SubmoltRef};

    const NOON: i64 = 1_800_000_000 - 1_800_000_000 % 86_400 + 12 * 3600;

    fn post(id: &str, title: &str, author: &str) -> Post {
        Post {
            id: id.into(),
            title: title.into(),
            content: Some("body".into()),
            author: Some(NameRef {
                name: author.into(),
            }),
            submolt: Some(SubmoltRef {
                name: "bittensor".into(),
            }),
            ..Default::default()
        }
    }

    fn replies(ev: &[Event]) -> Vec<&str> {
        ev.iter()
            .filter_map(|e| match e {
                Event::Reply { post, .. } => Some(post.id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_burst_of_matching_posts_yields_at_most_the_cap() {
        let mut rules = EngagementRules::for_topics(&["SN50", "crps"]);
        rules.daily_reply_cap = 3;
        rules.daily_upvote_cap = 4;
        let mut st = EngagementState::default();
        let burst: Vec<Post> = (0..40)
            .map(|i| post(&format!("p{i}"), &format!("SN50 thoughts #{i}"), "other"))
            .collect();
        let ev = plan(&rules, &mut st, &burst, NOON);
        assert_eq!(replies(&ev).len(), 3);
        let ups = ev
            .iter()
            .filter(|e| matches!(e, Event::Upvote { .. }))
            .count();
        assert_eq!(ups, 4);
        let capped = ev
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Skip {
                        reason: SkipReason::ReplyCap,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(capped, 37);
        // The same burst again, later the same day: nothing new.
        assert!(plan(&rules, &mut st, &burst, NOON + 600).is_empty());
        // More posts the same day: still capped.
        let more = vec![post("q1", "crps tricks", "x")];
        assert!(replies(&plan(&rules, &mut st, &more, NOON + 700)).is_empty());
        // Next day the cap is fresh.
        let next = vec![post("r1", "crps again", "x")];
        assert_eq!(
            replies(&plan(&rules, &mut st, &next, NOON + 86_400)),
            ["r1"]
        );
    }

    #[test]
    fn never_two_replies_to_one_thread() {
        let rules = EngagementRules::for_topics(&["synth"]);
        let mut st = EngagementState::default();
        let ev = plan(&rules, &mut st, &[post("t1", "synth subnet", "a")], NOON);
        assert_eq!(replies(&ev), ["t1"]);
        assert!(st.check_reply(&rules, "t1", NOON).is_ok());
        st.record_reply(&rules, "t1", NOON);
        assert_eq!(st.replies_today, 1, "a planned reply is counted once");
        assert_eq!(
            st.check_reply(&rules, "t1", NOON + 5),
            Err(Refusal::AlreadyReplied)
        );
        // Even after the seen list is forgotten, and on another day.
        st.seen.clear();
        let ev = plan(
            &rules,
            &mut st,
            &[post("t1", "synth subnet", "a")],
            NOON + 3 * 86_400,
        );
        assert!(replies(&ev).is_empty());
        assert!(ev.iter().any(|e| matches!(
            e,
            Event::Skip {
                reason: SkipReason::AlreadyReplied,
                ..
            }
        )));
        assert_eq!(
            st.check_reply(&rules, "t1", NOON + 3 * 86_400),
            Err(Refusal::AlreadyReplied)
        );
    }

    #[test]
    fn quiet_hours_hold_everything_back_until_they_end() {
        let mut rules = EngagementRules::for_topics(&["synth"]);
        rules.quiet_hours = Some(QuietHours {
            start: 22,
            end: 7,
            utc_offset_minutes: 60,
        });
        let night = NOON + 11 * 3600; // 23:00 UTC, 00:00 local
        assert!(rules.quiet_hours.unwrap().contains(night));
        assert!(!rules.quiet_hours.unwrap().contains(NOON));
        let mut st = EngagementState::default();
        let posts = vec![post("n1", "synth at night", "a")];
        let ev = plan(&rules, &mut st, &posts, night);
        assert!(replies(&ev).is_empty());
        assert!(ev.iter().all(|e| matches!(
            e,
            Event::Skip {
                reason: SkipReason::QuietHours,
                ..
            }
        )));
        assert_eq!(
            st.check_reply(&rules, "n1", night),
            Err(Refusal::QuietHours)
        );
        // 07:30 local: the held-back post is planned.
        let morning = night + 7 * 3600 + 1800;
        assert_eq!(replies(&plan(&rules, &mut st, &posts, morning)), ["n1"]);
    }

    #[test]
    fn own_ignored_other_submolts_and_non_matching_posts_are_left_alone() {
        let mut rules = EngagementRules::for_topics(&["synth"]);
        rules.agent_name = Some("SynthCity".into());
        rules.ignore_authors = vec!["spammer".into()];
        rules.submolts = vec!["bittensor".into()];
        let mut other_sub = post("o3", "synth", "a");
        other_sub.submolt = Some(SubmoltRef {
            name: "general".into(),
        });
        let posts = vec![
            post("o1", "synth by me", "synthcity"),
            post("o2", "synth promo", "Spammer"),
            other_sub,
            post("o4", "cats", "a"),
        ];
        let mut st = EngagementState::default();
        assert!(plan(&rules, &mut st, &posts, NOON).is_empty());
    }

    #[test]
    fn rules_parse_with_defaults_and_are_checked() {
        let r: EngagementRules = serde_json::from_str(r#"{"topics":["sn50"]}"#).unwrap();
        assert_eq!(
            (r.daily_reply_cap, r.daily_upvote_cap, r.reply_min_topics),
            (5, 20, 1)
        );
        assert!(r.validate().is_ok());
        let bad: EngagementRules =
            serde_json::from_str(r#"{"topics":["x"],"quiet_hours":{"start":25,"end":3}}"#).unwrap();
        assert!(bad.validate().is_err());
        assert!(EngagementRules::for_topics(&[]).validate().is_err());
    }
}
