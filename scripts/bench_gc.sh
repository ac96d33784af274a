#!/usr/bin/env bash
# GC benchmark (a figure, not a test): one `artifactapi gc` run over BENCH_GC_ROWS (100,000) blob
# rows that nothing references, each with its object on the fs blob store, plus one uploaded file
# that must survive. Reports wall time, peak RSS and what the run deleted. The rows are written
# straight into the SQLite database (in the format the server itself wrote for the uploaded
# file), because 100,000 uploads would time the upload path, not GC.
#   BENCH_GC_ROWS=100000 scripts/bench_gc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

ROWS=${BENCH_GC_ROWS:-100000}
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

bench_start
bench_repository '{"name":"kept","kind":"local","package":"generic"}'
echo "a file GC must keep" > "$WORK/kept.txt"
curl -fsS -o /dev/null -T "$WORK/kept.txt" "$base/api/v1/local/kept/kept.txt" -H "Authorization: Bearer $TOKEN"
bench_stop

echo "writing $ROWS unreferenced blob rows and objects"
python3 - "$WORK/data" "$ROWS" <<'PY'
import hashlib, os, sqlite3, sys
data, rows = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(data, "meta.db"))
(written,) = db.execute("SELECT created_at FROM blobs LIMIT 1").fetchone()
# The server's own timestamp text, moved back to a day long past the grace period.
old = "2020-01-01" + written[10:]
objects = os.path.join(data, "blobs", "blobs", "sha256")
batch = []
for i in range(rows):
    body = f"orphan {i}\n".encode()
    hex_ = hashlib.sha256(body).hexdigest()
    with open(os.path.join(objects, hex_), "wb") as f:
        f.write(body)
    batch.append((f"sha256:{hex_}", len(body), old, old))
db.executemany("INSERT INTO blobs (digest, size, content_type, created_at, last_referenced_at) VALUES (?, ?, NULL, ?, ?)", batch)
db.commit()
PY

(cd "$WORK" && /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$BIN" gc > "$WORK/gc.txt" 2>"$WORK/gc.log")
read -r secs kib < "$WORK/time.txt"
left=$(sqlite3 "$WORK/data/meta.db" "SELECT count(*) FROM blobs")
objects=$(find "$WORK/data/blobs/blobs/sha256" -type f | wc -l)
printf 'gc over %d unreferenced blob rows: %.1f s, peak RSS %.1f MiB; %s\n' "$ROWS" "$secs" "$(awk "BEGIN{print $kib/1024}")" "$(cat "$WORK/gc.txt")"
[ "$left" = 1 ] && [ "$objects" = 1 ] || { echo "expected only the uploaded file's blob to remain: $left rows, $objects objects"; exit 1; }
echo "the uploaded file's blob remains (1 row, 1 object)"
