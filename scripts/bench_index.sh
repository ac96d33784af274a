#!/usr/bin/env bash
# Index rendering benchmark (a figure, not a test): a hosted PyPI project with BENCH_INDEX_FILES
# (1,000) files and a hosted npm package with as many versions, their simple page (PEP 503 HTML
# and PEP 691 JSON) and packument (full and abbreviated) rendered from the database on every
# request (one query for the package's records, however many files). Reports the median and p95
# time of BENCH_INDEX_REQUESTS sequential requests each (goal: under 20 ms).
# One real upload each (curl: the legacy upload API twine uses, and the PUT npm publish sends)
# gives the row format; the other rows are copies of it with other versions and file names,
# written straight into SQLite.
#   BENCH_INDEX_FILES=1000 scripts/bench_index.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

FILES=${BENCH_INDEX_FILES:-1000}
REQUESTS=${BENCH_INDEX_REQUESTS:-200}

bench_start
bench_repository '{"name":"py","kind":"local","package":"pypi"}'
# A minimal wheel.
python3 - "$WORK/bench_pkg-1.0-py3-none-any.whl" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("bench_pkg/__init__.py", "")
    z.writestr("bench_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bench-pkg\nVersion: 1.0\nRequires-Python: >=3.8\n")
    z.writestr("bench_pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("bench_pkg-1.0.dist-info/RECORD", "")
PY
WHEEL="$WORK/bench_pkg-1.0-py3-none-any.whl"
curl -fsS -o /dev/null "$base/api/v1/local/py/" -u "__token__:$TOKEN" \
  -F ':action=file_upload' -F protocol_version=1 -F name=bench-pkg -F version=1.0 \
  -F filetype=bdist_wheel -F pyversion=py3 -F metadata_version=2.1 -F requires_python='>=3.8' \
  -F "sha256_digest=$(sha256sum "$WHEEL" | cut -d' ' -f1)" -F "content=@$WHEEL"
# An npm publish of bench-npm@1.0.0 (a one-file tarball), as npm sends it.
bench_repository '{"name":"npml","kind":"local","package":"npm"}'
python3 - "$WORK/publish.json" <<'PY'
import base64, hashlib, io, json, sys, tarfile
manifest = json.dumps({"name": "bench-npm", "version": "1.0.0", "description": "bench", "dependencies": {"left": "^1.0.0"}}).encode()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as tar:
    info = tarfile.TarInfo("package/package.json"); info.size = len(manifest)
    tar.addfile(info, io.BytesIO(manifest))
tgz = buf.getvalue()
doc = {"_id": "bench-npm", "name": "bench-npm", "dist-tags": {"latest": "1.0.0"},
       "versions": {"1.0.0": {"name": "bench-npm", "version": "1.0.0", "description": "bench", "dependencies": {"left": "^1.0.0"},
                              "dist": {"integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
                                       "shasum": hashlib.sha1(tgz).hexdigest()}}},
       "_attachments": {"bench-npm-1.0.0.tgz": {"content_type": "application/octet-stream",
                                                "data": base64.b64encode(tgz).decode(), "length": len(tgz)}}}
open(sys.argv[1], "w").write(json.dumps(doc))
PY
curl -fsS -o /dev/null -X PUT "$base/api/v1/local/npml/bench-npm" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary "@$WORK/publish.json"
bench_stop

python3 - "$WORK/data/meta.db" "$FILES" <<'PY'
import sqlite3, sys
db_path, files = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(db_path)
db.row_factory = sqlite3.Row
row = dict(db.execute("SELECT * FROM hosted_packages WHERE filename LIKE '%.whl'").fetchone())
npm = dict(db.execute("SELECT * FROM hosted_packages WHERE key = 'bench-npm@1.0.0'").fetchone())
copies = []
for i in range(1, files):
    version = f"1.0.{i}"
    filename = row["filename"].replace("-1.0-", f"-{version}-")
    copy = dict(row, version=version, filename=filename,
                key=row["key"].replace("-1.0-", f"-{version}-"),
                path=row["path"].replace(row["filename"], filename))
    copies.append(copy)
for i in range(1, files):
    version = f"1.0.{i}"
    copies.append(dict(npm, version=version, key=f"bench-npm@{version}", filename=f"bench-npm-{version}.tgz",
                       path=f"bench-npm/-/bench-npm-{version}.tgz", meta=npm["meta"].replace('"1.0.0"', f'"{version}"')))
cols = list(row.keys())
db.executemany(f"INSERT INTO hosted_packages ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
               [[c[k] for k in cols] for c in copies])
db.commit()
print(f"{db.execute('SELECT count(*) FROM hosted_packages').fetchone()[0]} rows: files of bench-pkg, versions of bench-npm")
PY

bench_start
page="$base/api/v1/local/py/simple/bench-pkg/"
count=$(curl -fsS "$page" | grep -c '<a ' || true)
[ "$count" = "$FILES" ] || { echo "the page lists $count files, expected $FILES"; exit 1; }
packument="$base/api/v1/local/npml/bench-npm"
count=$(curl -fsS "$packument" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))')
[ "$count" = "$FILES" ] || { echo "the packument lists $count versions, expected $FILES"; exit 1; }
python3 - "$page" "$packument" "$REQUESTS" <<'PY'
import statistics, sys, time, urllib.request
page, packument, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for label, url, accept in (("PEP 503 HTML page", page, "text/html"),
                           ("PEP 691 JSON page", page, "application/vnd.pypi.simple.v1+json"),
                           ("npm full packument", packument, "application/json"),
                           ("npm abbreviated packument", packument, "application/vnd.npm.install-v1+json")):
    times = []
    for _ in range(n):
        req = urllib.request.Request(url, headers={"Accept": accept})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req) as r:
            r.read()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"{label}, {n} requests: median {statistics.median(times):.2f} ms, p95 {times[int(n * 0.95) - 1]:.2f} ms (goal < 20 ms)")
PY
bench_stop
