# Shared by the single-server benchmark scripts (sourced, not run): the release binary, a work
# directory removed on exit, and a server started in it on a free port.
#   source scripts/bench_lib.sh; bench_start; ... "$base" ...; bench_stop
TOKEN=bench-admin-token-0123456789
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
# BENCH_BIN: a binary to time instead of a fresh release build (e.g. target/debug/artifactapi).
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  cargo build --release --quiet --bin artifactapi
  BIN=$PWD/target/release/artifactapi
fi
WORK=$(mktemp -d)
PID=
bench_cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap bench_cleanup EXIT

# Starts `artifactapi serve` in $WORK (data under $WORK/data) and waits until it is ready;
# sets $base and $PID.
bench_start() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  (cd "$WORK" && exec env ARTIFACTAPI_LISTEN="127.0.0.1:$port" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN "$BIN" serve >/dev/null 2>>"$WORK/server.log") &
  PID=$!
  for _ in $(seq 1 300); do curl -fs "$base/api/v2/health/ready" >/dev/null && break; sleep 0.1; done
}

bench_stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# POST /api/v2/repositories with a JSON definition.
bench_repository() {
  curl -fsS -o /dev/null -X POST "$base/api/v2/repositories" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$1"
}

# The server's peak resident set so far, in MiB.
bench_peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status"; }
