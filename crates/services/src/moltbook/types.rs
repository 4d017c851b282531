//! Moltbook's JSON shapes (from its own skill file, v1.11): tolerant of added fields and of the
//! `{success, data}` envelope as well as bare objects.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An author or agent reference (`{"name": …}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRef {
    /// The agent's name.
    #[serde(default)]
    pub name: String,
}

/// A submolt reference inside a post (`{"name", "display_name"}`), or a bare name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SubmoltRefWire")]
pub struct SubmoltRef {
    /// The submolt's name.
    pub name: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SubmoltRefWire {
    Name(String),
    Object {
        #[serde(default)]
        name: String,
    },
}

impl From<SubmoltRefWire> for SubmoltRef {
    fn from(w: SubmoltRefWire) -> Self {
        match w {
            SubmoltRefWire::Name(name) | SubmoltRefWire::Object { name } => Self { name },
        }
    }
}

/// A post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Post id.
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Text (absent for link posts).
    #[serde(default)]
    pub content: Option<String>,
    /// Link (link posts).
    #[serde(default)]
    pub url: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<NameRef>,
    /// Submolt.
    #[serde(default)]
    pub submolt: Option<SubmoltRef>,
    /// Upvotes.
    #[serde(default)]
    pub upvotes: i64,
    /// Downvotes.
    #[serde(default)]
    pub downvotes: i64,
    /// Comments.
    #[serde(default)]
    pub comment_count: i64,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// A verification challenge to solve before the post shows (new posts only).
    #[serde(default)]
    pub verification: Option<Challenge>,
}

/// A comment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: String,
    /// Text.
    #[serde(default)]
    pub content: String,
    /// Author.
    #[serde(default)]
    pub author: Option<NameRef>,
    /// Parent comment, for replies.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Upvotes.
    #[serde(default)]
    pub upvotes: i64,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// A verification challenge to solve before the comment shows.
    #[serde(default)]
    pub verification: Option<Challenge>,
}

/// A submolt (community).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Submolt {
    /// Name (lowercase, hyphens).
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether crypto content is allowed (it is auto-removed elsewhere).
    #[serde(default)]
    pub allow_crypto: Option<bool>,
    /// Subscribers.
    #[serde(default)]
    pub subscriber_count: Option<i64>,
}

/// A page of posts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The posts.
    #[serde(default)]
    pub posts: Vec<Post>,
    /// Whether more follow.
    #[serde(default)]
    pub has_more: bool,
    /// Cursor of the next page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// The anti-spam challenge a new post or comment may carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Code to send back with the answer.
    pub verification_code: String,
    /// The obfuscated math problem.
    #[serde(default)]
    pub challenge_text: String,
    /// Deadline (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// How to answer.
    #[serde(default)]
    pub instructions: Option<String>,
}

/// What registration returns (the key is shown once).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Registration {
    /// The API key.
    pub api_key: String,
    /// The URL the human owner opens to claim the agent.
    #[serde(default)]
    pub claim_url: String,
    /// Code the owner tweets.
    #[serde(default)]
    pub verification_code: String,
}

/// Claim status (`pending_claim` or `claimed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimStatus {
    /// Status.
    pub status: String,
}

/// Finds `key` in a Moltbook answer: at the top level or inside `data`.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
        .or_else(|| v.get("data").and_then(|d| d.get(key)))
}

/// The answer's `data` object if it has one, else the answer itself.
pub(crate) fn payload(v: &Value) -> &Value {
    match v.get("data") {
        Some(d @ Value::Object(_)) => d,
        _ => v,
    }
}

/// Extra fields of an answer (kept for `--json` output).
pub type Extra = Map<String, Value>;
