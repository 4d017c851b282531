//! `synth-city search "query" [--sources twitter,reddit,web] [--since 24h] [--limit N] [--json]`.

use std::process::ExitCode;

use services::desearch::{parse_since, Desearch, SearchQuery, SearchResults, Source};

use super::{block_on, service_error};
use crate::CliResult;

/// Arguments of `synth-city search`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to look for (e.g. "SOL listing", "bridge hack").
    pub query: String,
    /// Comma-separated sources: twitter (x), reddit, web, hackernews, youtube, wikipedia, arxiv.
    #[arg(long, default_value = "twitter,reddit,web")]
    pub sources: String,
    /// Only what was posted within this look-back: 30m, 24h, 7d, 2w ("all" for no window).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Most hits (1-200).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the search.
pub fn run(a: Args) -> CliResult {
    let mut q = SearchQuery::new(a.query);
    q.sources = Source::parse_list(&a.sources).map_err(service_error)?;
    q.since = if a.since.trim().eq_ignore_ascii_case("all") {
        None
    } else {
        Some(parse_since(&a.since).map_err(service_error)?)
    };
    q.limit = a.limit;
    q.check().map_err(service_error)?;
    let client = Desearch::from_env().map_err(service_error)?;
    let r = block_on(client.search(&q))?.map_err(service_error)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        print_human(&r);
    }
    match r.cost.usd {
        Some(usd) => eprintln!(
            "{} hits; cost ${usd:.4} (X-Desearch-Cost-Usd)",
            r.results.len()
        ),
        None => eprintln!("{} hits; the service reported no cost", r.results.len()),
    }
    Ok(ExitCode::SUCCESS)
}

fn one_line(s: &str, n: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > n {
        out = out.chars().take(n).collect::<String>() + "…";
    }
    out
}

fn print_human(r: &SearchResults) {
    if r.results.is_empty() {
        println!("no hits for {:?}", r.query);
        return;
    }
    for h in &r.results {
        let mut head = format!("[{}]", h.source);
        if let Some(t) = &h.time {
            head.push_str(&format!(" {t}"));
        }
        if let Some(a) = &h.author {
            head.push_str(&format!(" @{}", one_line(a, 40)));
        }
        if let Some(s) = h.score {
            head.push_str(&format!(" score {s:.2}"));
        }
        if let Some(e) = h.engagement {
            head.push_str(&format!(" engagement {e}"));
        }
        println!("{head}");
        if let Some(t) = &h.title {
            println!("  {}", one_line(t, 160));
        }
        if !h.text.is_empty() && Some(&h.text) != h.title.as_ref() {
            println!("  {}", one_line(&h.text, 240));
        }
        println!("  {}", h.url);
    }
}
