//! Posts to Parquet (our files) and any social Parquet file (ours or Gravity's) to a short
//! summary: rows, time span, sources, the most used tags and the most engaged posts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use super::posts::SocialPost;
use crate::ServiceError;

/// Most rows a summary reads (the file's row count comes from its footer either way).
pub const MAX_SUMMARY_ROWS: usize = 200_000;
/// Posts quoted in a summary.
const TOP_POSTS: usize = 5;
/// Tags listed in a summary.
const TOP_TAGS: usize = 10;

fn err(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid(format!("{what}: {e}"))
}

/// The posts as one Parquet file (zstd): columns `datetime`, `source`, `username`, `text`,
/// `uri`, `likes`, `reposts`, `replies`, `views`, `hashtags`, `language`.
pub fn posts_to_parquet(posts: &[SocialPost]) -> Result<Vec<u8>, ServiceError> {
    let text = |f: fn(&SocialPost) -> Option<&str>| -> ArrayRef {
        Arc::new(posts.iter().map(f).collect::<StringArray>())
    };
    let num = |f: fn(&SocialPost) -> Option<u64>| -> ArrayRef {
        Arc::new(posts.iter().map(f).collect::<UInt64Array>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("datetime", text(|p| p.datetime.as_deref())),
        ("source", text(|p| Some(p.source.as_str()))),
        ("username", text(|p| p.username.as_deref())),
        ("text", text(|p| Some(p.text.as_str()))),
        ("uri", text(|p| p.uri.as_deref())),
        ("likes", num(|p| p.likes)),
        ("reposts", num(|p| p.reposts)),
        ("replies", num(|p| p.replies)),
        ("views", num(|p| p.views)),
        ("hashtags", text(|p| p.hashtags.as_deref())),
        ("language", text(|p| p.language.as_deref())),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| {
                let nullable = !matches!(*n, "source" | "text");
                Field::new(*n, a.data_type().clone(), nullable)
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| err("building the Parquet batch", e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props))
        .map_err(|e| err("writing Parquet", e))?;
    w.write(&batch).map_err(|e| err("writing Parquet", e))?;
    w.close().map_err(|e| err("writing Parquet", e))?;
    Ok(out)
}

/// A post quoted in a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopPost {
    /// When.
    pub datetime: Option<String>,
    /// Who.
    pub username: Option<String>,
    /// Likes (the engagement it was ranked by).
    pub likes: Option<u64>,
    /// The start of its text.
    pub text: String,
    /// Link.
    pub uri: Option<String>,
}

/// What a social Parquet file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParquetSummary {
    /// The file's name.
    pub file: String,
    /// Rows in the file (from its footer).
    pub rows: u64,
    /// Rows read for the rest of the summary (at most [`MAX_SUMMARY_ROWS`]).
    pub rows_read: u64,
    /// Column names.
    pub columns: Vec<String>,
    /// Earliest post time found.
    pub first: Option<String>,
    /// Latest post time found.
    pub last: Option<String>,
    /// Posts per source.
    pub sources: Vec<(String, u64)>,
    /// Most used `#hashtags` and `$cashtags` in the texts, with counts.
    pub top_tags: Vec<(String, u64)>,
    /// The most liked posts.
    pub top_posts: Vec<TopPost>,
}

/// Index of the first column named one of `names` (case-insensitive).
fn find(schema: &Schema, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(n))
    })
}

fn value(a: &dyn Array, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    let s = match a.data_type() {
        DataType::Utf8 => a
            .as_any()
            .downcast_ref::<StringArray>()?
            .value(i)
            .to_string(),
        _ => array_value_to_string(a, i).ok()?,
    };
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn sorted(m: HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Summarises a social Parquet file, ours or Gravity's: columns are found by name (`text`,
/// `datetime`/`created_at`, `source`/`platform`, `username`/`author`, `likes`/`like_count`/
/// `score`, `uri`/`url`), so an unknown layout yields what it can. Reads at most
/// [`MAX_SUMMARY_ROWS`] rows; a file that is not Parquet is an error, not a panic.
pub fn summarize(path: &Path) -> Result<ParquetSummary, ServiceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let what = format!("reading {}", path.display());
    let file = std::fs::File::open(path).map_err(|e| err(&what, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(&what, e))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| err(&what, e))?;
    let col_text = find(&schema, &["text", "content", "body", "title"]);
    let col_time = find(&schema, &["datetime", "created_at", "timestamp", "date"]);
    let col_source = find(&schema, &["source", "platform"]);
    let col_user = find(&schema, &["username", "user", "author"]);
    let col_likes = find(&schema, &["likes", "like_count", "score"]);
    let col_uri = find(&schema, &["uri", "url", "link"]);

    let mut rows_read = 0u64;
    let mut first: Option<String> = None;
    let mut last: Option<String> = None;
    let mut sources: HashMap<String, u64> = HashMap::new();
    let mut tags: HashMap<String, u64> = HashMap::new();
    let mut top: Vec<TopPost> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(&what, e))?;
        let take = batch
            .num_rows()
            .min(MAX_SUMMARY_ROWS.saturating_sub(rows_read as usize));
        let col = |c: Option<usize>| c.map(|i| batch.column(i).clone());
        let (text, time, source, user, likes, uri) = (
            col(col_text),
            col(col_time),
            col(col_source),
            col(col_user),
            col(col_likes),
            col(col_uri),
        );
        for i in 0..take {
            let get = |a: &Option<ArrayRef>| a.as_ref().and_then(|a| value(a.as_ref(), i));
            if let Some(t) = get(&time).and_then(|t| normal_time(&t)) {
                if first.as_ref().is_none_or(|f| &t < f) {
                    first = Some(t.clone());
                }
                if last.as_ref().is_none_or(|l| &t > l) {
                    last = Some(t);
                }
            }
            if let Some(s) = get(&source) {
                *sources.entry(s.to_ascii_lowercase()).or_default() += 1;
            }
            let body = get(&text).unwrap_or_default();
            for w in body.split_whitespace() {
                if let Some(tag) = tag_of(w) {
                    *tags.entry(tag).or_default() += 1;
                }
            }
            let like = get(&likes)
                .and_then(|l| l.parse::<f64>().ok())
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| x as u64);
            if !body.is_empty() {
                consider(
                    &mut top,
                    TopPost {
                        datetime: get(&time).and_then(|t| normal_time(&t)),
                        username: get(&user),
                        likes: like,
                        text: body.chars().take(280).collect(),
                        uri: get(&uri),
                    },
                );
            }
        }
        rows_read += take as u64;
        if rows_read as usize >= MAX_SUMMARY_ROWS {
            break;
        }
    }
    Ok(ParquetSummary {
        file: name,
        rows,
        rows_read,
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        first,
        last,
        sources: sorted(sources, 10),
        top_tags: sorted(tags, TOP_TAGS),
        top_posts: top,
    })
}

/// Keeps the [`TOP_POSTS`] most liked posts (the first seen wins ties).
fn consider(top: &mut Vec<TopPost>, p: TopPost) {
    let key = p.likes.unwrap_or(0);
    if top.len() >= TOP_POSTS && top.last().is_some_and(|l| l.likes.unwrap_or(0) >= key) {
        return;
    }
    let at = top
        .iter()
        .position(|t| t.likes.unwrap_or(0) < key)
        .unwrap_or(top.len());
    top.insert(at, p);
    top.truncate(TOP_POSTS);
}

/// `#tag` or `$TAG` of a word (lower-cased hashtags, upper-cased cashtags), punctuation cut.
fn tag_of(w: &str) -> Option<String> {
    let first = w.chars().next()?;
    if first != '#' && first != '$' {
        return None;
    }
    let body: String = w[1..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    if body.is_empty() || body.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(if first == '$' {
        format!("${}", body.to_uppercase())
    } else {
        format!("#{}", body.to_lowercase())
    })
}

/// A time as RFC 3339 UTC seconds: RFC 3339 in, or Arrow's `2026-12-01T10:00:00` display of
/// a timestamp column (taken as UTC).
fn normal_time(s: &str) -> Option<String> {
    let fmt =
        |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(fmt(d.with_timezone(&chrono::Utc)));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(fmt(d.and_utc()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(t: &str, likes: u64, text: &str) -> SocialPost {
        SocialPost {
            datetime: Some(t.into()),
            source: "x".into(),
            username: Some("u".into()),
            text: text.into(),
            likes: Some(likes),
            ..SocialPost::default()
        }
    }

    #[test]
    fn posts_round_trip_into_a_summary() {
        let posts: Vec<SocialPost> = (0..8)
            .map(|i| {
                post(
                    &format!("2026-12-0{}T10:00:00Z", i + 1),
                    i,
                    &format!("$btc up #Crypto {i}"),
                )
            })
            .collect();
        let bytes = posts_to_parquet(&posts).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        std::fs::write(&p, &bytes).unwrap();
        let s = summarize(&p).unwrap();
        assert_eq!((s.rows, s.rows_read), (8, 8));
        assert_eq!(s.first.as_deref(), Some("2026-12-01T10:00:00Z"));
        assert_eq!(s.last.as_deref(), Some("2026-12-08T10:00:00Z"));
        assert_eq!(s.sources, vec![("x".to_string(), 8)]);
        // Equal counts: by name.
        assert_eq!(s.top_tags[0], ("#crypto".to_string(), 8));
        assert_eq!(s.top_tags[1], ("$BTC".to_string(), 8));
        assert_eq!(s.top_posts.len(), TOP_POSTS);
        assert_eq!(s.top_posts[0].likes, Some(7));
        assert_eq!(s.top_posts[4].likes, Some(3));
    }

    #[test]
    fn garbage_is_an_error_and_tags_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.parquet");
        std::fs::write(&p, b"not parquet at all").unwrap();
        assert!(summarize(&p).is_err());
        assert_eq!(tag_of("$eth,"), Some("$ETH".into()));
        assert_eq!(tag_of("$100"), None);
        assert_eq!(tag_of("#"), None);
        assert_eq!(tag_of("word"), None);
        assert_eq!(
            normal_time("2026-12-01 10:00:00").as_deref(),
            Some("2026-12-01T10:00:00Z")
        );
    }
}
