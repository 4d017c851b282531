#!/bin/sh
# Calls the synth-city bridge with this bot's key.
# Usage: sc.sh METHOD PATH [JSON_BODY]
#   sc.sh GET /health
#   sc.sh POST /experiments/validate '{"experiment": {"preset": "gbm"}}'
# Settings: SYNTH_BRIDGE_URL (default http://127.0.0.1:8377), SYNTH_BRIDGE_KEY (this bot's key).
# Prints the JSON answer; exits 1 when the bridge answered with an error status, 2 when unreachable.
set -u
method="${1:?usage: sc.sh METHOD PATH [JSON_BODY]}"
path="${2:?usage: sc.sh METHOD PATH [JSON_BODY]}"
body="${3:-}"
# Settings written by `synth-city openclaw install`, unless already in the environment.
settings="$(dirname "$0")/../bridge.env"
if [ -f "$settings" ]; then
  url_env="${SYNTH_BRIDGE_URL:-}"; key_env="${SYNTH_BRIDGE_KEY:-}"
  . "$settings"
  [ -n "$url_env" ] && SYNTH_BRIDGE_URL="$url_env"
  [ -n "$key_env" ] && SYNTH_BRIDGE_KEY="$key_env"
fi
url="${SYNTH_BRIDGE_URL:-http://127.0.0.1:8377}"
set -- -sS -X "$method" --max-time "${SYNTH_BRIDGE_TIMEOUT:-900}" -w '\n%{http_code}' -H 'Accept: application/json'
if [ -n "${SYNTH_BRIDGE_KEY:-}" ]; then
  set -- "$@" -H "Authorization: Bearer ${SYNTH_BRIDGE_KEY}"
fi
if [ -n "$body" ]; then
  set -- "$@" -H 'Content-Type: application/json' --data-binary "$body"
fi
out="$(curl "$@" "${url%/}${path}")" || { echo '{"error":{"kind":"unreachable","message":"bridge unreachable at '"$url"'"}}'; exit 2; }
code="$(printf '%s' "$out" | tail -n 1)"
printf '%s\n' "$out" | sed '$d'
case "$code" in
  2*) exit 0 ;;
  *) exit 1 ;;
esac
