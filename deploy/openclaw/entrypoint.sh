#!/usr/bin/env bash
# Entrypoint of the OpenClaw agent image: restore the workspace from Hippius before the agent
# starts, push it on a schedule while it runs, and push once more when it stops (exit, crash
# or SIGTERM from the orchestrator). Without Hippius keys the agent runs with local state only.
#
#   HIPPIUS_ACCESS_KEY / HIPPIUS_SECRET_KEY  switch state sync on (HIPPIUS_BUCKET, HIPPIUS_ENDPOINT)
#   OPENCLAW_STATE_AGENT                     snapshot name (default: main)
#   STATE_PUSH_EVERY                         periodic push interval (default: 15m; "off" disables)
#
# Exit status: the agent's own; 1 when the restore failed (the agent is not started on a
# state that could not be brought back, and nothing is pushed over it).
set -Eeuo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  set -- openclaw gateway --port "${OPENCLAW_GATEWAY_PORT:-18789}"
fi

sync_on=0
if [ -n "${HIPPIUS_ACCESS_KEY:-}" ] && [ -n "${HIPPIUS_SECRET_KEY:-}" ]; then
  sync_on=1
else
  log "HIPPIUS_ACCESS_KEY / HIPPIUS_SECRET_KEY not set: state stays in this container only"
fi

if [ "$sync_on" -eq 1 ]; then
  log "restoring the workspace from Hippius"
  set +e
  out="$(synth-city openclaw state pull 2>&1)"
  rc=$?
  set -e
  printf '%s\n' "$out" >&2
  if [ "$rc" -ne 0 ]; then
    if printf '%s' "$out" | grep -q "no version pushed yet"; then
      log "no saved state yet: starting fresh"
    else
      log "restore failed (exit $rc): not starting"
      exit 1
    fi
  fi
fi

child=0
watcher=0

finish() {
  local rc=$?
  trap - EXIT TERM INT
  if [ "$child" -ne 0 ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ "$watcher" -ne 0 ]; then
    kill -TERM "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
  fi
  if [ "$sync_on" -eq 1 ]; then
    log "pushing the workspace to Hippius"
    synth-city openclaw state push || log "final push failed; the last periodic push stands"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

every="${STATE_PUSH_EVERY:-15m}"
if [ "$sync_on" -eq 1 ] && [ "$every" != "off" ]; then
  synth-city openclaw state watch --every "$every" &
  watcher=$!
fi

"$@" &
child=$!
wait "$child"
