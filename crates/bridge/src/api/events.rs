//! Server-sent events: `/events` streams the caller's own events, `/admin/events` everyone's.
//! `?after=SEQ` replays kept events newer than SEQ first; `/events/recent` returns them as JSON.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::extract::{Admin, Caller, LOCAL_BOT, Q};
use super::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::events::Event;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(bot_stream))
        .route("/events/recent", get(bot_recent))
        .route("/admin/events", get(admin_stream))
        .route("/admin/events/recent", get(admin_recent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct After {
    after: Option<u64>,
}

fn bot_of(caller: Caller) -> ApiResult<String> {
    match caller {
        Caller::Bot(id) => Ok(id),
        Caller::Open => Ok(LOCAL_BOT.to_string()),
        Caller::Admin => Err(ApiError::new(
            ErrorKind::Forbidden,
            "admins read /admin/events",
        )),
    }
}

fn to_sse(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.kind.clone())
        .json_data(e)
        .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"))
}

/// Kept events after `after`, then live ones, for `bot` (or all when `None`).
fn stream_for(
    st: &AppState,
    bot: Option<String>,
    after: u64,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let rx = st.events.subscribe();
    let replay = st.events.recent(after, bot.as_deref());
    let last = replay.last().map(|e| e.seq).unwrap_or(after);
    let replay = stream::iter(replay.into_iter().map(|e| Ok(to_sse(&e))));
    let live = stream::unfold((rx, bot, last), |(mut rx, bot, last)| async move {
        loop {
            match rx.recv().await {
                Ok(e)
                    if e.seq > last
                        && bot
                            .as_deref()
                            .is_none_or(|b| e.bot_id.as_deref() == Some(b)) =>
                {
                    let seq = e.seq;
                    return Some((Ok(to_sse(&e)), (rx, bot, seq)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => {
                    let ev = SseEvent::default()
                        .event("lagged")
                        .data(json!({"missed": n}).to_string());
                    return Some((Ok(ev), (rx, bot, last)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    replay.chain(live)
}

async fn bot_stream(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<After>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let bot = bot_of(caller)?;
    Ok(Sse::new(stream_for(&st, Some(bot), q.after.unwrap_or(0)))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn admin_stream(
    State(st): State<AppState>,
    _: Admin,
    Q(q): Q<After>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    Sse::new(stream_for(&st, None, q.after.unwrap_or(0)))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn bot_recent(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<After>,
) -> ApiResult<Json<Value>> {
    let bot = bot_of(caller)?;
    let events = st.events.recent(q.after.unwrap_or(0), Some(&bot));
    Ok(Json(json!({"bot_id": bot, "events": events})))
}

async fn admin_recent(State(st): State<AppState>, _: Admin, Q(q): Q<After>) -> Json<Value> {
    Json(json!({"events": st.events.recent(q.after.unwrap_or(0), None)}))
}
