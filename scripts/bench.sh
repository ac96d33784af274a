#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests): upload and download of a large file through a local
# generic repository on the fs and S3 backends, with throughput and the server's peak RSS
# (VmHWM from /proc/<pid>/status). Target: peak RSS < 150 MiB for 1 GiB. Then the remote cache,
# registry and start-up benchmarks (each a ratio against a peer measured in the same run), GC
# over 100,000 blob rows and retention over 20,000 cached copies (time and peak RSS), a hosted
# PyPI page of 1,000 files, rpm repodata of 1,000 packages and an alpine APKINDEX.tar.gz of
# 1,000 uploaded apks (time and peak RSS).
#   BENCH_SIZE_MB=1024 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${BENCH_SIZE_MB:-1024}
TOKEN=bench-admin-token-0123456789
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
cargo build --release --quiet --bin artifactapi --example s3_test_server
BIN=$PWD/target/release/artifactapi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
now() { date +%s.%N; }
mib_per_s() { python3 -c "print(f'{$SIZE_MB/($2-$1):.0f}')"; }

echo "generating ${SIZE_MB} MiB test file"
head -c "${SIZE_MB}M" /dev/urandom > "$WORK/blob.bin"
SUM=$(sha256sum "$WORK/blob.bin" | cut -d' ' -f1)

# run_case NAME [ENV=VALUE...]
run_case() {
  local name=$1; shift
  local dir="$WORK/$name" port
  port=$(free_port)
  mkdir -p "$dir"
  (cd "$dir" && exec env "$@" ARTIFACTAPI_LISTEN="127.0.0.1:$port" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN "$BIN" serve >/dev/null 2>"$dir/server.log") &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/api/v2/health" >/dev/null && break; sleep 0.1; done
  local base="http://127.0.0.1:$port"
  curl -fsS -o /dev/null -X POST "$base/api/v2/repositories" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"bench","kind":"local","package":"generic"}'
  local t0 t1 t2
  t0=$(now)
  curl -fsS -o /dev/null -T "$WORK/blob.bin" "$base/api/v1/local/bench/blob.bin" -H "Authorization: Bearer $TOKEN" -H "X-Checksum-Sha256: $SUM"
  t1=$(now)
  curl -fsS "$base/api/v1/local/bench/blob.bin" -o "$WORK/download.bin"
  t2=$(now)
  local got
  got=$(sha256sum "$WORK/download.bin" | cut -d' ' -f1)
  [ "$got" = "$SUM" ] || { echo "$name: downloaded bytes differ"; exit 1; }
  rm -f "$WORK/download.bin"
  printf '%-4s %5s MiB  upload %5s MiB/s  download %5s MiB/s  server peak RSS %6s MiB\n' \
    "$name" "$SIZE_MB" "$(mib_per_s "$t0" "$t1")" "$(mib_per_s "$t1" "$t2")" "$(peak_rss_mib "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_case fs

"$PWD/target/release/examples/s3_test_server" > "$WORK/s3.txt" &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$WORK/s3.txt" ] && break; sleep 0.1; done
read -r S3_ENDPOINT S3_ACCESS S3_SECRET < "$WORK/s3.txt"
run_case s3 ARTIFACTAPI_BLOB_STORE="s3://bench?endpoint=$S3_ENDPOINT&region=us-east-1" \
  ARTIFACTAPI_S3_ACCESS_KEY="$S3_ACCESS" ARTIFACTAPI_S3_SECRET_KEY="$S3_SECRET"
scripts/bench_remote.sh
scripts/bench_registry.sh
scripts/bench_startup.sh
scripts/bench_gc.sh
scripts/bench_retention.sh
scripts/bench_index.sh
scripts/bench_repodata.sh
scripts/bench_apkindex.sh
