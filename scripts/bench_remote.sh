#!/usr/bin/env bash
# Pull-through cache benchmark, side by side with nginx in one run on this machine. Every figure
# is a ratio against a peer measured in the same run, as the median of rounds that alternate
# between the two (so neither gains from a warmer page cache or a quieter moment):
#   1. cached 256 MiB GET throughput vs nginx sendfile            (kept: >= 0.9x)
#   2. cached 4 KiB GETs/s, 64 connections, vs nginx proxy_cache  (target: >= 0.8x), with the
#      CPU each server spends per request
#   3. cold 256 MiB miss over a 1 Gbit/s link (an upstream nginx with `limit_rate`): time to
#      last byte vs a direct download over the same link (target <= 1.05x) and vs nginx
#      proxy_cache's miss (target <= 1.0x); the same on loopback, for reference
#   4. 50 concurrent misses of one file: upstream requests (kept: 1)
#   5. peak RSS during 8 concurrent cold 256 MiB misses          (kept: 111 MiB)
# Figures, not pass/fail.  BENCH_BIG_MB=256 BENCH_ROUNDS=5 scripts/bench_remote.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIG_MB=${BENCH_BIG_MB:-256}
ROUNDS=${BENCH_ROUNDS:-5}
TOKEN=bench-admin-token-0123456789
WORK=$(mktemp -d)
PIDS=()
# Waits (up to 5 s each) for the servers to exit before removing their directories, so a
# server still writing into $WORK cannot make the removal fail.
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do
    for _ in $(seq 1 50); do [ -n "$p" ] && kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$WORK"
}
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
secs() { python3 -c "print(f'{$2-$1:.4f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.4f}')" "$@"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
# CPU ticks (user + system) of the given processes.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)

mkdir -p "$WORK/files" "$WORK/nginx"
head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/big.bin"
head -c 4096 /dev/urandom > "$WORK/files/small.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom > "$WORK/files/coalesce.bin"
for i in 1 2 3 4 5 6 7 8; do head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/cold$i.bin"; done
for i in 1 2 3; do
  head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/miss$i.bin"
  head -c "${BIG_MB}M" /dev/urandom > "$WORK/files/link$i.bin"
done

UP=$(free_port); LINK=$(free_port); CACHE=$(free_port); CACHE_LINK=$(free_port); APP=$(free_port)
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
  # The upstream on loopback, and the same files behind a 1 Gbit/s link.
  server { listen 127.0.0.1:$UP; root $WORK/files; access_log $WORK/nginx/upstream.log; }
  server { listen 127.0.0.1:$LINK; root $WORK/files; limit_rate 125000000; }
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
  server {
    listen 127.0.0.1:$CACHE_LINK;
    location / {
      proxy_pass http://127.0.0.1:$LINK;
      proxy_cache bench;
      proxy_cache_key "link\$request_uri";
      proxy_cache_valid 200 1h;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf"
sleep 0.5
NGINX_MASTER=$(cat "$WORK/nginx/nginx.pid")
PIDS+=("$NGINX_MASTER")
mapfile -t NGINX_WORKERS < <(ps --ppid "$NGINX_MASTER" -o pid= | tr -d ' ')

mkdir -p "$WORK/app"
(cd "$WORK/app" && exec env ARTIFACTAPI_LISTEN="127.0.0.1:$APP" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN "$BIN" serve >/dev/null 2>"$WORK/app/server.log") &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APP/api/v2/health/ready" >/dev/null && break; sleep 0.1; done
for pair in "bench:$UP" "link:$LINK"; do
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$APP/api/v2/repositories" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"${pair%%:*}\",\"kind\":\"remote\",\"package\":\"generic\",\"base_url\":\"http://127.0.0.1:${pair##*:}\"}"
done
NGX="http://127.0.0.1:$CACHE"
NGX_LINK="http://127.0.0.1:$CACHE_LINK"
ART="http://127.0.0.1:$APP/api/v1/remote/bench"
ART_LINK="http://127.0.0.1:$APP/api/v1/remote/link"

get_secs() { local t0 t1; t0=$(now); curl -fsS -o /dev/null "$1"; t1=$(now); secs "$t0" "$t1"; }
# Writes back dirty pages left by earlier steps, so that a miss does not pay for them.
settle() { sync; sleep 1; }
miss_secs() { settle; get_secs "$1"; }
# "requests/s cpu-microseconds-per-request" for 5 s of wrk against $1, CPU of pids $2...
wrk_round() {
  local url=$1; shift
  local before after out rps reqs
  before=$(ticks "$@")
  out=$(wrk -t2 -c64 -d5s "$url")
  after=$(ticks "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "print($rps, f'{($after-$before)/$HZ/$reqs*1e6:.1f}')"
}

# Warm both caches.
for base in "$NGX" "$ART"; do curl -fsS -o /dev/null "$base/big.bin"; curl -fsS -o /dev/null "$base/small.bin"; done

echo "== medians of $ROUNDS alternating rounds"
ngx_big=(); art_big=()
for _ in $(seq 1 "$ROUNDS"); do
  ngx_big+=("$(get_secs "http://127.0.0.1:$UP/big.bin")")
  art_big+=("$(get_secs "$ART/big.bin")")
done
nb=$(median "${ngx_big[@]}"); ab=$(median "${art_big[@]}")
echo "cached ${BIG_MB} MiB GET: nginx sendfile $(python3 -c "print(f'{$BIG_MB/$nb:.0f}')") MiB/s  artifactapi $(python3 -c "print(f'{$BIG_MB/$ab:.0f}')") MiB/s  ratio $(ratio "$nb" "$ab")x (kept >= 0.9)"

ngx_rps=(); art_rps=(); ngx_cpu=(); art_cpu=()
for _ in $(seq 1 "$ROUNDS"); do
  read -r r c < <(wrk_round "$NGX/small.bin" "${NGINX_WORKERS[@]}"); ngx_rps+=("$r"); ngx_cpu+=("$c")
  read -r r c < <(wrk_round "$ART/small.bin" "$APP_PID"); art_rps+=("$r"); art_cpu+=("$c")
done
nr=$(median "${ngx_rps[@]}"); ar=$(median "${art_rps[@]}")
nc=$(median "${ngx_cpu[@]}"); ac=$(median "${art_cpu[@]}")
echo "cached 4 KiB GETs/s (64 conns): nginx proxy_cache ${nr}  artifactapi ${ar}  ratio $(ratio "$ar" "$nr")x (target >= 0.8)"
echo "  server CPU per request: nginx ${nc} us  artifactapi ${ac} us  (rounds: nginx ${ngx_rps[*]} / ours ${art_rps[*]})"

# cold_misses LABEL DIRECT NGINX OURS FILE_PREFIX: medians of 3 alternating misses.
cold_misses() {
  local direct=() ngx=() art=() i d n a
  for i in 1 2 3; do
    direct+=("$(miss_secs "$2/$5$i.bin")")
    ngx+=("$(miss_secs "$3/$5$i.bin")")
    art+=("$(miss_secs "$4/$5$i.bin")")
  done
  d=$(median "${direct[@]}"); n=$(median "${ngx[@]}"); a=$(median "${art[@]}")
  echo "cold ${BIG_MB} MiB miss, $1: direct ${d}s  nginx proxy_cache ${n}s  artifactapi ${a}s  ratio vs direct $(ratio "$a" "$d")x  vs nginx $(ratio "$a" "$n")x"
}
cold_misses "1 Gbit/s link (targets: <= 1.05x direct, <= 1.0x nginx)" "http://127.0.0.1:$LINK" "$NGX_LINK" "$ART_LINK" link
cold_misses "loopback" "http://127.0.0.1:$UP" "$NGX" "$ART" miss

before=$(grep -c "coalesce.bin" "$WORK/nginx/upstream.log" || true)
for _ in $(seq 1 50); do curl -fsS -o /dev/null "$ART/coalesce.bin" & done
wait $(jobs -p | grep -v "^$APP_PID$") 2>/dev/null || true
after=$(grep -c "coalesce.bin" "$WORK/nginx/upstream.log" || true)
echo "50 concurrent misses of one file: $((after - before)) upstream request(s) (kept: 1)"

# The peak of this step alone, in a server started afresh on the same data directory: the
# long-running one's allocator still holds pages from the earlier steps (its peak so far is
# printed beside), which says nothing about what concurrent misses cost.
lifetime_peak=$(peak_rss_mib "$APP_PID")
kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
(cd "$WORK/app" && exec env ARTIFACTAPI_LISTEN="127.0.0.1:$APP" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN "$BIN" serve >/dev/null 2>>"$WORK/app/server.log") &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APP/api/v2/health/ready" >/dev/null && break; sleep 0.1; done
at_start=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$APP_PID/status")
for i in 1 2 3 4 5 6 7 8; do curl -fsS -o /dev/null "$ART/cold$i.bin" & done
wait $(jobs -p | grep -v "^$APP_PID$") 2>/dev/null || true
sleep 0.5
echo "peak RSS, 8 concurrent cold ${BIG_MB} MiB misses: $(peak_rss_mib "$APP_PID") MiB (kept: 111), fresh server at ${at_start} MiB before them; the server of the earlier steps peaked at ${lifetime_peak} MiB"
