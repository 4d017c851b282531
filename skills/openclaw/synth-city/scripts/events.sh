#!/bin/sh
# Follows this bot's event stream (server-sent events from GET /events) for a while.
# Usage: events.sh [SECONDS] [AFTER_SEQ]   (defaults 60 s, from the kept recent events)
# Prints one line per event: `SEQ KIND DATA_JSON`. Resume with AFTER_SEQ = the last SEQ seen.
# Exits 0 when the time is up, 1 when the bridge refuses, 2 when it is unreachable.
set -u
secs="${1:-60}"
after="${2:-}"
case "$secs" in *[!0-9]*|'') echo "events.sh: SECONDS must be a number" >&2; exit 1 ;; esac
case "$after" in *[!0-9]*) echo "events.sh: AFTER_SEQ must be a number" >&2; exit 1 ;; esac
settings="$(dirname "$0")/../bridge.env"
if [ -f "$settings" ] && [ -z "${SYNTH_BRIDGE_URL:-}" ]; then
  SYNTH_BRIDGE_URL="$(sed -n "s/^SYNTH_BRIDGE_URL='\(.*\)'\$/\1/p" "$settings")"
fi
url="${SYNTH_BRIDGE_URL:-http://127.0.0.1:8377}"
path="/events"
[ -n "$after" ] && path="/events?after=$after"
set -- -sS -N --max-time "$secs" -H 'Accept: text/event-stream' -w '\n%{http_code}\n'
if [ -n "${SYNTH_BRIDGE_KEY:-}" ]; then
  set -- "$@" -H "Authorization: Bearer ${SYNTH_BRIDGE_KEY}"
fi
curl "$@" "${url%/}${path}" | awk '
  /^id: /    { id = substr($0, 5) }
  /^event: / { kind = substr($0, 8) }
  /^data: /  { print id, kind, substr($0, 7); fflush() }
  /^[0-9][0-9][0-9]$/ { code = $0 }
  !/^(id|event|data): / && !/^:/ && !/^$/ && !/^[0-9][0-9][0-9]$/ { print; fflush() }
  END { if (code == "" || code == "000") exit 2; if (code != "200") exit 1 }
'
