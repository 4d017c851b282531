//! `synth-city social create|status|watch|download|cancel|list|show`: bulk social data from Data
//! Universe (SN13) into Parquet files in the data folder (`<data>/social/`), task ids kept in
//! `tasks.json` so that a task survives a restart.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use services::data_universe::{
    parse_date, summarize, DataUniverse, GravitySpec, GravityTask, OnDemandQuery, Platform,
    SocialStore, TaskKind, TaskRecord,
};

use super::{block_on, service_error};
use crate::{CliError, CliResult};

/// `synth-city social …`
#[derive(Subcommand, Debug)]
pub enum SocialCmd {
    /// Start collecting: an on-demand query (answered at once, written as one Parquet file)
    /// or, with --gravity, a Gravity crawler task (up to 7 days; `download` builds its files).
    Create(CreateArgs),
    /// The state of one task (or of every task recorded here).
    Status {
        /// Task id (all recorded tasks when left out).
        id: Option<String>,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Follow a Gravity task with a progress line until it completes or --for runs out.
    Watch {
        /// Task id.
        id: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 30)]
        every: u64,
        /// Stop watching after this many minutes (the task keeps running).
        #[arg(long = "for", default_value_t = 60)]
        minutes: u64,
    },
    /// Build the datasets of a Gravity task (this STOPS its crawlers) and download their
    /// Parquet files into the data folder. Resumes a build started before a restart.
    Download {
        /// Task id.
        id: String,
        /// Most rows per crawler's dataset.
        #[arg(long, default_value_t = 10_000)]
        max_rows: u64,
        /// Give up waiting for the build after this many minutes (run again to resume).
        #[arg(long, default_value_t = 30)]
        wait_minutes: u64,
    },
    /// Cancel a Gravity task.
    Cancel {
        /// Task id.
        id: String,
    },
    /// The Parquet files in the data folder, with rows and time span.
    List {
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// A summary of one Parquet file (rows, span, sources, top tags, most liked posts).
    Show {
        /// `<task>/<file>.parquet`, as `social list` prints it.
        file: String,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `social create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// x, reddit or youtube (youtube: on-demand only).
    #[arg(long, default_value = "x")]
    pub platform: String,
    /// Keywords, comma-separated (≤ 5; on Reddit the first may be r/subreddit).
    #[arg(long)]
    pub keywords: Option<String>,
    /// X users, comma-separated (≤ 5).
    #[arg(long)]
    pub users: Option<String>,
    /// Gravity: the topic (#hashtag or $cashtag on X, r/subreddit on Reddit).
    #[arg(long)]
    pub topic: Option<String>,
    /// Posts from this date (2026-12-01 or RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Posts until this date.
    #[arg(long)]
    pub to: Option<String>,
    /// On-demand: most posts (1-1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// On-demand: match any keyword instead of all of them.
    #[arg(long)]
    pub any: bool,
    /// Create a Gravity crawler task instead of an on-demand query.
    #[arg(long)]
    pub gravity: bool,
    /// Gravity: the task's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn now() -> String {
    services::data_universe::now_rfc3339()
}

fn store_error(e: services::ServiceError) -> CliError {
    CliError::runtime(e.to_string())
}

/// Runs one `social` command.
pub fn run(cmd: SocialCmd) -> CliResult {
    let store = SocialStore::open_default();
    match cmd {
        SocialCmd::Create(a) => create(&store, a),
        SocialCmd::Status { id, json } => status(&store, id, json),
        SocialCmd::Watch { id, every, minutes } => watch(&store, &id, every, minutes),
        SocialCmd::Download {
            id,
            max_rows,
            wait_minutes,
        } => download(&store, &id, max_rows, wait_minutes),
        SocialCmd::Cancel { id } => {
            let c = DataUniverse::from_env().map_err(service_error)?;
            block_on(c.cancel_task(&id))?.map_err(service_error)?;
            if let Some(mut t) = store.task(&id).map_err(store_error)? {
                t.status = Some("Cancelled".into());
                store.save_task(&t).map_err(store_error)?;
            }
            println!("cancelled {id}");
            Ok(ExitCode::SUCCESS)
        }
        SocialCmd::List { json } => list_files(&store, json),
        SocialCmd::Show { file, json } => {
            let path = store.file(&file).map_err(service_error)?;
            let s = summarize(&path).map_err(store_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            } else {
                println!(
                    "{} — {} rows, {} … {}",
                    file,
                    s.rows,
                    opt(&s.first),
                    opt(&s.last)
                );
                println!("columns: {}", s.columns.join(", "));
                let tags: Vec<String> =
                    s.top_tags.iter().map(|(t, n)| format!("{t} {n}")).collect();
                println!("top tags: {}", tags.join(", "));
                for p in &s.top_posts {
                    println!(
                        "  [{} likes] @{} {}",
                        p.likes.unwrap_or(0),
                        p.username.as_deref().unwrap_or("?"),
                        p.text.replace('\n', " ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn create(store: &SocialStore, a: CreateArgs) -> CliResult {
    let platform = Platform::parse(&a.platform).map_err(service_error)?;
    let date = |s: &Option<String>| {
        s.as_deref()
            .map(parse_date)
            .transpose()
            .map_err(service_error)
    };
    let (start, end) = (date(&a.from)?, date(&a.to)?);
    if a.gravity {
        let spec = GravitySpec {
            platform,
            topic: a.topic.clone(),
            keyword: list(&a.keywords).into_iter().next(),
            start,
            end,
            name: a.name.clone(),
        };
        spec.check().map_err(service_error)?;
        let c = DataUniverse::from_env().map_err(service_error)?;
        let id = block_on(c.create_gravity(&spec))?.map_err(service_error)?;
        let rec = TaskRecord {
            id: id.clone(),
            kind: TaskKind::Gravity { spec },
            created_at: now(),
            status: Some("Created".into()),
            datasets: vec![],
            files: vec![],
        };
        store.save_task(&rec).map_err(store_error)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&rec).unwrap_or_default());
        } else {
            println!(
                "created Gravity task {id} (recorded in {})",
                store.dir().display()
            );
            println!("follow it: synth-city social watch {id}");
            println!("get its data: synth-city social download {id}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.topic.is_some() {
        return Err(CliError::input(
            "--topic is for Gravity tasks: add --gravity, or use --keywords",
        ));
    }
    let query = OnDemandQuery {
        platform,
        keywords: list(&a.keywords),
        usernames: list(&a.users),
        start,
        end,
        limit: a.limit,
        match_all: !a.any,
    };
    query.check().map_err(service_error)?;
    let c = DataUniverse::from_env().map_err(service_error)?;
    let bar = spinner("asking the SN13 miners (10-60 s)");
    let posts = block_on(c.on_demand(&query))?.map_err(service_error);
    bar.finish_and_clear();
    let posts = posts?;
    let rec = store.save_on_demand(query, &posts).map_err(store_error)?;
    let file = rec.files.first().cloned().unwrap_or_default();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"task": rec, "posts": posts.len()}))
                .unwrap_or_default()
        );
    } else {
        println!(
            "{} posts → {}",
            posts.len(),
            store.dir().join(&file).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn records(t: &GravityTask) -> u64 {
    t.crawlers.iter().filter_map(|c| c.records).sum()
}

fn status(store: &SocialStore, id: Option<String>, as_json: bool) -> CliResult {
    let recorded: Vec<TaskRecord> = match &id {
        Some(id) => store.task(id).map_err(store_error)?.into_iter().collect(),
        None => store.tasks().map_err(store_error)?,
    };
    let gravity: Vec<&TaskRecord> = recorded
        .iter()
        .filter(|t| matches!(t.kind, TaskKind::Gravity { .. }))
        .collect();
    // Only ask the service when there is a Gravity task to ask about (or an unknown id).
    let live: Vec<GravityTask> = if !gravity.is_empty() || (id.is_some() && recorded.is_empty()) {
        let c = DataUniverse::from_env().map_err(service_error)?;
        block_on(c.gravity_tasks(id.as_deref()))?.map_err(service_error)?
    } else {
        Vec::new()
    };
    for t in &live {
        if let Some(mut r) = recorded.iter().find(|r| r.id == t.id).cloned() {
            r.status = t.status.clone();
            store.save_task(&r).map_err(store_error)?;
        }
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"recorded": recorded, "live": live}))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if recorded.is_empty() && live.is_empty() {
        println!("no social data task recorded in {}", store.dir().display());
        return Ok(ExitCode::SUCCESS);
    }
    for r in &recorded {
        let l = live.iter().find(|t| t.id == r.id);
        let what = match &r.kind {
            TaskKind::OnDemand { query } => format!(
                "on-demand {} {}",
                query.platform.as_str(),
                query.keywords.join(",")
            ),
            TaskKind::Gravity { spec } => format!(
                "gravity {} {}",
                spec.platform.as_str(),
                spec.topic
                    .clone()
                    .or(spec.keyword.clone())
                    .unwrap_or_default()
            ),
        };
        let st = l.and_then(|t| t.status.clone()).or(r.status.clone());
        let recs = l
            .map(|t| format!(", {} posts collected", records(t)))
            .unwrap_or_default();
        println!(
            "{}  {}  {}{}  files {}",
            r.id,
            what,
            st.unwrap_or_else(|| "?".into()),
            recs,
            r.files.len()
        );
    }
    for t in live
        .iter()
        .filter(|t| !recorded.iter().any(|r| r.id == t.id))
    {
        println!(
            "{}  (not created here)  {}  {} posts",
            t.id,
            t.status.as_deref().unwrap_or("?"),
            records(t)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn done(status: Option<&str>) -> bool {
    let s = status.unwrap_or("").to_ascii_lowercase();
    s.contains("complete") || s.contains("cancel") || s.contains("fail")
}

fn watch(store: &SocialStore, id: &str, every: u64, minutes: u64) -> CliResult {
    if every == 0 || minutes == 0 {
        return Err(CliError::input("--every and --for must be at least 1"));
    }
    let c = DataUniverse::from_env().map_err(service_error)?;
    let bar = spinner("");
    let deadline = std::time::Instant::now() + Duration::from_secs(minutes.saturating_mul(60));
    let result = block_on(async {
        loop {
            let tasks = c.gravity_tasks(Some(id)).await?;
            let t = tasks.into_iter().find(|t| t.id == id).ok_or_else(|| {
                services::ServiceError::NotFound {
                    service: services::data_universe::SERVICE,
                    body: format!("Gravity task {id}"),
                }
            })?;
            bar.set_message(format!(
                "{id}: {} — {} posts from {} crawler(s)",
                t.status.as_deref().unwrap_or("?"),
                records(&t),
                t.crawler_ids.len()
            ));
            if done(t.status.as_deref()) || std::time::Instant::now() >= deadline {
                return Ok::<_, services::ServiceError>(t);
            }
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    })?;
    bar.finish_and_clear();
    let t = result.map_err(service_error)?;
    if let Some(mut r) = store.task(id).map_err(store_error)? {
        r.status = t.status.clone();
        store.save_task(&r).map_err(store_error)?;
    }
    println!(
        "{id}: {} — {} posts collected",
        t.status.as_deref().unwrap_or("?"),
        records(&t)
    );
    if !done(t.status.as_deref()) {
        println!(
            "still running; `synth-city social download {id}` stops it and fetches what it has"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn download(store: &SocialStore, id: &str, max_rows: u64, wait_minutes: u64) -> CliResult {
    if max_rows == 0 {
        return Err(CliError::input("--max-rows must be at least 1"));
    }
    let c = DataUniverse::from_env().map_err(service_error)?;
    let mut rec = match store.task(id).map_err(store_error)? {
        Some(r) => r,
        None => TaskRecord {
            id: id.to_string(),
            kind: TaskKind::Gravity {
                spec: GravitySpec {
                    platform: Platform::X,
                    topic: None,
                    keyword: None,
                    start: None,
                    end: None,
                    name: Some("(created elsewhere)".into()),
                },
            },
            created_at: now(),
            status: None,
            datasets: vec![],
            files: vec![],
        },
    };
    if matches!(rec.kind, TaskKind::OnDemand { .. }) {
        println!(
            "{id} is an on-demand task: its file is {}",
            rec.files.join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let tasks = block_on(c.gravity_tasks(Some(id)))?.map_err(service_error)?;
    let task = tasks
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| CliError::input(format!("Data Universe has no Gravity task {id}")))?;
    // Builds already started (before a restart) are resumed, not started again.
    for crawler in &task.crawler_ids {
        if rec.datasets.iter().any(|(c, _)| c == crawler) {
            continue;
        }
        let ds = block_on(c.build_dataset(crawler, max_rows))?.map_err(service_error)?;
        rec.datasets.push((crawler.clone(), ds));
        store.save_task(&rec).map_err(store_error)?;
    }
    if rec.datasets.is_empty() {
        return Err(CliError::runtime(format!(
            "Gravity task {id} has no crawler yet; try later"
        )));
    }
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("building [{bar:30}] {percent}% {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(wait_minutes.max(1) * 60);
    let datasets = rec.datasets.clone();
    let outcome = block_on(async {
        let mut ready = Vec::new();
        loop {
            ready.clear();
            let mut progress = 0.0;
            for (_, ds) in &datasets {
                let d = c.dataset(ds).await?;
                if d.is_failed() {
                    return Err(services::ServiceError::Http {
                        service: services::data_universe::SERVICE,
                        status: 200,
                        body: format!(
                            "dataset {ds} failed: {}",
                            d.status_message.clone().unwrap_or_default()
                        ),
                    });
                }
                progress += d.progress();
                if d.is_ready() {
                    ready.push(d);
                }
            }
            bar.set_position((progress / datasets.len() as f64 * 1000.0) as u64);
            bar.set_message(format!("{}/{} datasets ready", ready.len(), datasets.len()));
            if ready.len() == datasets.len() || std::time::Instant::now() >= deadline {
                return Ok::<_, services::ServiceError>(ready);
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    })?;
    bar.finish_and_clear();
    let ready = outcome.map_err(service_error)?;
    if ready.len() < datasets.len() {
        println!(
            "{}/{} datasets built so far; run `synth-city social download {id}` again to resume",
            ready.len(),
            datasets.len()
        );
    }
    let files: Vec<_> = ready.iter().flat_map(|d| d.files.clone()).collect();
    let dl = ProgressBar::new(files.len() as u64);
    dl.set_style(
        ProgressStyle::with_template("downloading [{bar:30}] {pos}/{len} files {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for (i, f) in files.iter().enumerate() {
        let Some(url) = f.url.as_deref() else {
            continue;
        };
        let name = f
            .file_name
            .clone()
            .unwrap_or_else(|| format!("part-{i}.parquet"));
        dl.set_message(name.clone());
        let bytes = block_on(c.download(url))?.map_err(service_error)?;
        let rel = store
            .write_parquet(id, &name, &bytes)
            .map_err(store_error)?;
        if !rec.files.contains(&rel) {
            rec.files.push(rel);
        }
        store.save_task(&rec).map_err(store_error)?;
        dl.inc(1);
    }
    dl.finish_and_clear();
    rec.status = task.status.clone();
    store.save_task(&rec).map_err(store_error)?;
    for f in &rec.files {
        println!("{}", store.dir().join(f).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The Parquet files of the social store with their rows and span (for `social list` and
/// `data info`).
pub fn file_rows(store: &SocialStore) -> Result<Vec<serde_json::Value>, CliError> {
    let files = store.files().map_err(store_error)?;
    Ok(files
        .iter()
        .map(|f| match summarize(&f.path) {
            Ok(s) => json!({"file": f.name, "bytes": f.bytes, "rows": s.rows,
                            "first": s.first, "last": s.last}),
            Err(e) => json!({"file": f.name, "bytes": f.bytes, "error": e.to_string()}),
        })
        .collect())
}

/// Prints the social files as a table (nothing when there are none).
pub fn print_files(store: &SocialStore) -> Result<usize, CliError> {
    let rows = file_rows(store)?;
    if rows.is_empty() {
        return Ok(0);
    }
    println!("social data {}", store.dir().display());
    println!(
        "{:<52} {:>8} {:<20} {:<20} {:>10}",
        "file", "rows", "first (UTC)", "last (UTC)", "bytes"
    );
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        let rows = r["rows"]
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unreadable".into());
        println!(
            "{:<52} {:>8} {:<20} {:<20} {:>10}",
            s("file"),
            rows,
            s("first"),
            s("last"),
            r["bytes"].as_u64().unwrap_or(0)
        );
    }
    Ok(rows.len())
}

fn list_files(store: &SocialStore, as_json: bool) -> CliResult {
    if as_json {
        let rows = file_rows(store)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if print_files(store)? == 0 {
        println!("no social data yet in {}", store.dir().display());
    }
    Ok(ExitCode::SUCCESS)
}
