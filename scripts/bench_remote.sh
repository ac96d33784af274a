#!/usr/bin/env bash
# Pull-through cache benchmark, side by side with nginx (`proxy_cache` in front of an nginx
# upstream serving the same files), in one run on this machine:
#   1. cached 256 MiB GET throughput            (target: >= 0.9x nginx)
#   2. cached 4 KiB GETs/s, 64 connections (wrk) (target: >= 0.5x nginx)
#   3. cold 256 MiB miss, time to last byte      (target: <= 1.2x a direct download; nginx's
#      own proxy_cache miss is timed beside it for reference)
#   4. peak RSS during 8 concurrent cold 256 MiB misses (target: < 200 MiB)
# Figures, not pass/fail.  BENCH_BIG_MB=256 scripts/bench_remote.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIG_MB=${BENCH_BIG_MB:-256}
TOKEN=bench-admin-token-0123456789
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk
need curl curl
cargo build --release --quiet --bin artifactapi
BIN=$PWD/target/release/artifactapi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
now() { date +%s.%N; }
lesser() { python3 -c "print(min($1, $2))"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
secs() { python3 -c "print(f'{$2-$1:.4f}')"; }

mkdir -p "$WORK/files" "$WORK/nginx"
head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/big.bin"
head -c 4096 /dev/urandom > "$WORK/files/small.bin"
for i in 1 2 3 4 5 6 7 8; do head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/cold$i.bin"; done
for i in 0 1 2 3; do head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/miss$i.bin"; done

UP=$(free_port); CACHE=$(free_port); APP=$(free_port)
cat > "$WORK/nginx/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  proxy_temp_path $WORK/nginx/tmp;
  client_body_temp_path $WORK/nginx/body;
  proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=bench:10m max_size=10g inactive=1h use_temp_path=off;
  server { listen 127.0.0.1:$UP; root $WORK/files; }
  server {
    listen 127.0.0.1:$CACHE;
    location / {
      proxy_pass http://127.0.0.1:$UP;
      proxy_cache bench;
      proxy_cache_valid 200 1h;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf"
PIDS+=("$(sleep 0.5; cat "$WORK/nginx/nginx.pid")")

mkdir -p "$WORK/app"
(cd "$WORK/app" && exec env ARTIFACTAPI_LISTEN="127.0.0.1:$APP" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN ARTIFACTAPI_LOG_LEVEL=warn "$BIN" serve >/dev/null 2>"$WORK/app/server.log") &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APP/api/v2/health" >/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$APP/api/v2/repositories" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "{\"name\":\"bench\",\"kind\":\"remote\",\"package\":\"generic\",\"base_url\":\"http://127.0.0.1:$UP\"}"
NGX="http://127.0.0.1:$CACHE"
ART="http://127.0.0.1:$APP/api/v1/remote/bench"

# Best of 3 wall times of one download.
best_get() {
  local best=999999 t0 t1 d
  for _ in 1 2 3; do
    t0=$(now); curl -fsS -o /dev/null "$1"; t1=$(now)
    d=$(secs "$t0" "$t1"); best=$(lesser "$best" "$d")
  done
  echo "$best"
}
# Writes back dirty pages left by earlier steps, so that a miss does not pay for them.
settle() { sync; sleep 1; }
# Seconds for one cold miss of file $2 through base URL $1.
miss() {
  local t0 t1
  settle
  t0=$(now); curl -fsS -o /dev/null "$1/$2"; t1=$(now)
  secs "$t0" "$t1"
}
rps() { wrk -t2 -c64 -d8s "$1" | awk '/Requests\/sec/ {print $2}'; }

# Warm both caches.
for base in "$NGX" "$ART"; do curl -fsS -o /dev/null "$base/big.bin"; curl -fsS -o /dev/null "$base/small.bin"; done

ngx_big=$(best_get "$NGX/big.bin"); art_big=$(best_get "$ART/big.bin")
ngx_mibs=$(python3 -c "print(f'{$BIG_MB/$ngx_big:.0f}')"); art_mibs=$(python3 -c "print(f'{$BIG_MB/$art_big:.0f}')")
echo "cached ${BIG_MB} MiB GET:   nginx ${ngx_mibs} MiB/s   artifactapi ${art_mibs} MiB/s   ratio $(ratio "$art_mibs" "$ngx_mibs")x (target >= 0.9)"

ngx_rps=$(rps "$NGX/small.bin"); art_rps=$(rps "$ART/small.bin")
echo "cached 4 KiB GETs/s (64 conns): nginx ${ngx_rps}   artifactapi ${art_rps}   ratio $(ratio "$art_rps" "$ngx_rps")x (target >= 0.5)"

direct=$(best_get "http://127.0.0.1:$UP/miss0.bin")
# Best of 3 misses each, of files neither cache holds yet, alternating between the two so that
# neither meets the page cache in a better state (on a VM, fresh page-cache pages can cost far
# more than recycled ones).
ngx_cold=999999; art_cold=999999
for i in 1 2 3; do
  ngx_cold=$(lesser "$ngx_cold" "$(miss "$NGX" "miss$i.bin")")
  art_cold=$(lesser "$art_cold" "$(miss "$ART" "miss$i.bin")")
done
echo "cold ${BIG_MB} MiB miss:    direct ${direct}s   nginx ${ngx_cold}s ($(ratio "$ngx_cold" "$direct")x)   artifactapi ${art_cold}s   ratio $(ratio "$art_cold" "$direct")x (target <= 1.2)"

for i in 1 2 3 4 5 6 7 8; do curl -fsS -o /dev/null "$ART/cold$i.bin" & done
wait $(jobs -p | grep -v "^$APP_PID$") 2>/dev/null || true
sleep 0.5
echo "peak RSS, 8 concurrent cold ${BIG_MB} MiB misses: $(peak_rss_mib "$APP_PID") MiB (target < 200)"
