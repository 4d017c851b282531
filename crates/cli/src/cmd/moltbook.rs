//! `synth-city moltbook …`: the agent on Moltbook, the social network for AI agents — register
//! and claim, read the feed and submolts, post, comment, vote, follow, answer verification
//! challenges, and `watch`: the feed run through the engagement rules, printed as events (one
//! JSON object per line) for an OpenClaw agent to react to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use services::moltbook::{
    client::base_url, plan, Credentials, EngagementRules, EngagementState, Event, FeedQuery,
    Limits, MoltbookClient, NewPost,
};
use services::Secret;

use crate::cmd::intel::{call, service_error};
use crate::{CliError, CliResult};

/// Commands of this area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Moltbook, the social network for AI agents (MOLTBOOK_API_KEY, or the credentials file
    /// written by `moltbook register`).
    Moltbook {
        #[command(subcommand)]
        cmd: MoltCmd,
    },
}

/// Output options.
#[derive(Args, Debug, Clone, Copy)]
pub struct Out {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `moltbook …`.
#[derive(Subcommand, Debug)]
pub enum MoltCmd {
    /// Register a new agent; stores its key (0600) in the credentials file and prints the
    /// claim URL to send to the human owner.
    Register {
        /// Agent name.
        name: String,
        /// What the agent does.
        #[arg(
            long,
            default_value = "SN50 (Synth) forecasting agent run by synth-city"
        )]
        description: String,
        /// Credentials file (default ~/.config/moltbook/credentials.json or MOLTBOOK_CREDENTIALS).
        #[arg(long)]
        credentials: Option<PathBuf>,
    },
    /// Claim status (pending_claim or claimed).
    Status(Out),
    /// Read the personal feed, all posts, or one submolt's posts.
    Feed {
        /// hot, new, top (or rising without --following).
        #[arg(long, default_value = "new")]
        sort: String,
        /// Only this submolt.
        #[arg(long)]
        submolt: Option<String>,
        /// Only accounts followed.
        #[arg(long)]
        following: bool,
        /// Posts per page (at most 100).
        #[arg(long, default_value_t = 25)]
        limit: u32,
        /// Cursor from a previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// List the submolts.
    Submolts(Out),
    /// Create a post (Moltbook allows one per 30 min; crypto content only in submolts that
    /// allow it). A verification challenge, if any, is printed: answer it with `verify`.
    Post {
        /// Submolt.
        #[arg(long)]
        submolt: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Text.
        #[arg(long, conflicts_with = "url")]
        content: Option<String>,
        /// Link instead of text.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Comment on a post (a plain comment; use `reply` to go through the engagement rules).
    Comment {
        /// Post id.
        post_id: String,
        /// Text.
        text: String,
        /// Reply to this comment.
        #[arg(long)]
        parent: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Reply to a thread under the engagement rules: refused in quiet hours, past the daily
    /// cap, or when this thread has a reply already; recorded in the engagement state.
    Reply {
        /// Post id.
        post_id: String,
        /// Text.
        text: String,
        #[command(flatten)]
        rules: RulesArgs,
        #[command(flatten)]
        out: Out,
    },
    /// Upvote (or --down vote) a post, or --comment upvote a comment.
    Vote {
        /// Post id (comment id with --comment).
        id: String,
        /// Downvote.
        #[arg(long)]
        down: bool,
        /// The id is a comment's.
        #[arg(long, conflicts_with = "down")]
        comment: bool,
    },
    /// Follow an agent (--undo unfollows). Moltbook asks agents to follow sparingly.
    Follow {
        /// Agent name.
        name: String,
        /// Unfollow.
        #[arg(long)]
        undo: bool,
    },
    /// Subscribe to a submolt (--undo unsubscribes).
    Subscribe {
        /// Submolt.
        submolt: String,
        /// Unsubscribe.
        #[arg(long)]
        undo: bool,
    },
    /// Answer a verification challenge (the number, e.g. 15.00). Ten failures in a row
    /// suspend the account.
    Verify {
        /// verification_code from the post or comment.
        code: String,
        /// The answer.
        answer: String,
    },
    /// Read the feed, run it through the engagement rules and print the events (JSON lines:
    /// reply, upvote, skip). With --act, upvotes are made; replies are left to the agent
    /// (`moltbook reply`). Without --every, one pass.
    Watch {
        #[command(flatten)]
        rules: RulesArgs,
        /// Make the planned upvotes.
        #[arg(long)]
        act: bool,
        /// Read the feed again every this many seconds (at least 60).
        #[arg(long)]
        every: Option<u64>,
        /// Posts read per pass.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Where the engagement rules and state live.
#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    /// Rules file (JSON: topics, submolts, daily_reply_cap, quiet_hours, …; see
    /// docs/openclaw-hosting.md). Default <data dir>/moltbook/rules.json.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// State file (threads replied to, today's counts). Default beside the rules.
    #[arg(long)]
    state: Option<PathBuf>,
}

impl RulesArgs {
    fn paths(&self) -> (PathBuf, PathBuf) {
        let rules = self
            .rules
            .clone()
            .unwrap_or_else(|| market::home::data_dir().join("moltbook").join("rules.json"));
        let state = self.state.clone().unwrap_or_else(|| {
            rules
                .parent()
                .unwrap_or(Path::new("."))
                .join("moltbook-state.json")
        });
        (rules, state)
    }

    fn load(&self) -> Result<(EngagementRules, EngagementState, PathBuf), CliError> {
        let (rp, sp) = self.paths();
        let text = std::fs::read(&rp).map_err(|e| {
            CliError::input(format!(
                "{}: {e}; write the engagement rules there (at least {{\"topics\": [\"SN50\"]}}) \
                 or give --rules",
                rp.display()
            ))
        })?;
        let rules: EngagementRules = serde_json::from_slice(&text)
            .map_err(|e| CliError::input(format!("{}: {e}", rp.display())))?;
        rules.validate().map_err(CliError::input)?;
        let state = match std::fs::read(&sp) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| CliError::input(format!("{}: {e}", sp.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => EngagementState::default(),
            Err(e) => return Err(CliError::runtime(format!("{}: {e}", sp.display()))),
        };
        Ok((rules, state, sp))
    }
}

fn save_state(path: &Path, st: &EngagementState) -> Result<(), CliError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| CliError::runtime(format!("{}: {e}", d.display())))?;
    }
    let bytes = serde_json::to_vec_pretty(st).unwrap_or_default();
    market::atomic::write_atomic(path, &bytes)
        .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn show(out: Out, v: &impl serde::Serialize, text: impl FnOnce() -> String) {
    if out.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

fn challenge_note(v: Option<&services::moltbook::Challenge>) -> String {
    match v {
        Some(c) => format!(
            "\nverification needed within 5 min: {}\n  then: synth-city moltbook verify {} <answer>",
            c.challenge_text, c.verification_code
        ),
        None => String::new(),
    }
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    let Cmd::Moltbook { cmd } = cmd;
    let client = || MoltbookClient::from_env().map_err(service_error);
    match cmd {
        MoltCmd::Register {
            name,
            description,
            credentials,
        } => {
            let c =
                MoltbookClient::new(&base_url(), None, Limits::default()).map_err(service_error)?;
            let reg = call(c.register(&name, &description))?;
            let creds = Credentials {
                api_key: Secret::new(reg.api_key),
                agent_name: name.clone(),
                claim_url: Some(reg.claim_url.clone()),
                verification_code: Some(reg.verification_code.clone()),
            };
            let path = creds.save(credentials.as_deref()).map_err(service_error)?;
            println!("registered {name}; key stored in {} (0600)", path.display());
            println!(
                "send this to the owner to claim the agent: {}",
                reg.claim_url
            );
            println!("verification code: {}", reg.verification_code);
        }
        MoltCmd::Status(out) => {
            let c = client()?;
            let s = call(c.status())?;
            show(out, &s, || s.status.clone());
        }
        MoltCmd::Feed {
            sort,
            submolt,
            following,
            limit,
            cursor,
            out,
        } => {
            let c = client()?;
            let q = FeedQuery {
                sort: Some(sort),
                filter: following.then(|| "following".to_string()),
                submolt: submolt.clone(),
                limit: Some(limit),
                cursor,
            };
            let page = if following || submolt.is_none() {
                call(c.feed(&q))?
            } else {
                call(c.posts(&q))?
            };
            show(out, &page, || {
                let mut t = String::new();
                for p in &page.posts {
                    t.push_str(&format!(
                        "{}  [{}] {} — {} (↑{} 💬{})\n",
                        p.id,
                        p.submolt.as_ref().map_or("?", |s| s.name.as_str()),
                        p.title,
                        p.author.as_ref().map_or("?", |a| a.name.as_str()),
                        p.upvotes,
                        p.comment_count
                    ));
                }
                if let Some(n) = &page.next_cursor {
                    t.push_str(&format!("next page: --cursor {n}"));
                }
                t.trim_end().to_string()
            });
        }
        MoltCmd::Submolts(out) => {
            let c = client()?;
            let list = call(c.submolts())?;
            show(out, &list, || {
                list.iter()
                    .map(|s| {
                        format!(
                            "{}{}",
                            s.name,
                            if s.allow_crypto == Some(true) {
                                "  (crypto allowed)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        MoltCmd::Post {
            submolt,
            title,
            content,
            url,
            out,
        } => {
            let c = client()?;
            let p = call(c.post(&NewPost {
                submolt,
                title,
                content,
                url,
            }))?;
            show(out, &p, || {
                format!("posted {}{}", p.id, challenge_note(p.verification.as_ref()))
            });
        }
        MoltCmd::Comment {
            post_id,
            text,
            parent,
            out,
        } => {
            let c = client()?;
            let cm = call(c.comment(&post_id, &text, parent.as_deref()))?;
            show(out, &cm, || {
                format!(
                    "commented {}{}",
                    cm.id,
                    challenge_note(cm.verification.as_ref())
                )
            });
        }
        MoltCmd::Reply {
            post_id,
            text,
            rules,
            out,
        } => {
            let c = client()?;
            let (r, mut st, sp) = rules.load()?;
            st.check_reply(&r, &post_id, now())
                .map_err(|e| CliError::input(format!("not replying to {post_id}: {e}")))?;
            let cm = call(c.comment(&post_id, &text, None))?;
            st.record_reply(&r, &post_id, now());
            save_state(&sp, &st)?;
            show(out, &cm, || {
                format!(
                    "replied {}{}",
                    cm.id,
                    challenge_note(cm.verification.as_ref())
                )
            });
        }
        MoltCmd::Vote { id, down, comment } => {
            let c = client()?;
            if comment {
                call(c.upvote_comment(&id))?;
            } else {
                call(c.vote_post(&id, !down))?;
            }
            println!("{} {id}", if down { "downvoted" } else { "upvoted" });
        }
        MoltCmd::Follow { name, undo } => {
            let c = client()?;
            call(c.follow(&name, !undo))?;
            println!("{} {name}", if undo { "unfollowed" } else { "following" });
        }
        MoltCmd::Subscribe { submolt, undo } => {
            let c = client()?;
            call(c.subscribe(&submolt, !undo))?;
            println!(
                "{} {submolt}",
                if undo {
                    "unsubscribed from"
                } else {
                    "subscribed to"
                }
            );
        }
        MoltCmd::Verify { code, answer } => {
            let c = client()?;
            let v = call(c.verify(&code, &answer))?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            if v["success"] == false {
                return Ok(ExitCode::from(1));
            }
        }
        MoltCmd::Watch {
            rules,
            act,
            every,
            limit,
        } => {
            let c = client()?;
            if every.is_some_and(|s| s < 60) {
                return Err(CliError::input("--every: at least 60 seconds"));
            }
            loop {
                let (r, mut st, sp) = rules.load()?;
                let q = FeedQuery {
                    sort: Some("new".into()),
                    limit: Some(limit),
                    ..Default::default()
                };
                match call(c.feed(&q)) {
                    Ok(page) => {
                        let events = plan(&r, &mut st, &page.posts, now());
                        save_state(&sp, &st)?;
                        for e in &events {
                            println!("{}", serde_json::to_string(e).unwrap_or_default());
                            if let (true, Event::Upvote { post, .. }) = (act, e) {
                                if let Err(err) = call(c.vote_post(&post.id, true)) {
                                    eprintln!("upvote {}: {err}", post.id);
                                }
                            }
                        }
                    }
                    Err(e) if every.is_some() => eprintln!("feed: {e}"),
                    Err(e) => return Err(e),
                }
                match every {
                    Some(s) => std::thread::sleep(Duration::from_secs(s)),
                    None => break,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
