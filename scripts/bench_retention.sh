#!/usr/bin/env bash
# Retention benchmark (a figure, not a test): one `artifactapi retention` run over a remote whose
# cache holds BENCH_RETENTION_ROWS (20,000) copies and whose max_bytes leaves room for none of
# them, so every row is evicted (least recently used first, a page at a time, each page's
# evictions in one transaction). Reports wall time, peak RSS and what the run removed. One copy
# is fetched through the server from a local upstream, so that the rows, inserted straight into
# the SQLite database, use the server's own timestamp format.
#   BENCH_RETENTION_ROWS=20000 scripts/bench_retention.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

ROWS=${BENCH_RETENTION_ROWS:-20000}
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

mkdir -p "$WORK/upstream"
echo "one cached file" > "$WORK/upstream/first.txt"
up_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$WORK/upstream" >/dev/null 2>&1 &
UPSTREAM=$!
trap 'kill "$UPSTREAM" 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$up_port/first.txt" >/dev/null && break; sleep 0.1; done

bench_start
bench_repository "{\"name\":\"cache\",\"kind\":\"remote\",\"package\":\"generic\",\"base_url\":\"http://127.0.0.1:$up_port\"}"
curl -fsS -o /dev/null "$base/api/v1/remote/cache/first.txt"
curl -fsS -o /dev/null -X PATCH "$base/api/v2/repositories/cache" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"max_bytes": 1}'
bench_stop

echo "writing $ROWS cached-copy rows"
python3 - "$WORK/data" "$ROWS" <<'PY'
import hashlib, os, sqlite3, sys
data, rows = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(data, "meta.db"))
# The server's own timestamp text (the fetched copy's blob row; the copy itself went when
# max_bytes was set).
(written,) = db.execute("SELECT created_at FROM blobs LIMIT 1").fetchone()
batch = []
for i in range(rows):
    digest = "sha256:" + hashlib.sha256(f"copy {i}".encode()).hexdigest()
    # Distinct access times in the server's own format.
    when = f"2020-01-01{written[10]}{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}" + written[19:]
    batch.append(("cache", f"pkg/file-{i:06d}.bin", digest, 1024, None, "immutable", when, None, when))
db.executemany("INSERT INTO artifacts (repo, path, digest, size, content_type, class, fetched_at, upstream_etag, last_accessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
db.commit()
PY

total=$(sqlite3 "$WORK/data/meta.db" "SELECT count(*) FROM artifacts WHERE repo = 'cache'")
(cd "$WORK" && /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$BIN" retention > "$WORK/retention.txt" 2>"$WORK/retention.log")
read -r secs kib < "$WORK/time.txt"
left=$(sqlite3 "$WORK/data/meta.db" "SELECT count(*) FROM artifacts WHERE repo = 'cache'")
printf 'retention over %d cached copies (all over max_bytes): %.1f s, peak RSS %.1f MiB; %s\n' \
  "$total" "$secs" "$(awk "BEGIN{print $kib/1024}")" "$(head -c 300 "$WORK/retention.txt" | tr '\n' ' ')"
[ "$left" = 0 ] || { echo "expected every copy evicted: $left rows left"; exit 1; }
echo "every copy evicted"
