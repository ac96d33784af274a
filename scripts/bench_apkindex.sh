#!/usr/bin/env bash
# Alpine index benchmark (a figure, not a test): BENCH_APK_COUNT (1,000) small generated .apk
# files are uploaded (PUT, as a CI job would publish them) to one arch directory of a local
# alpine repository; the server is restarted and APKINDEX.tar.gz is timed cold (first request,
# rendered from the database and signed) and warm (median of BENCH_APK_REQUESTS), with the
# server's peak RSS (VmHWM). Goal: seconds, memory bounded (the index is built in memory, a few
# hundred bytes per package).
#   BENCH_APK_COUNT=1000 scripts/bench_apkindex.sh
#   BENCH_BIN=target/debug/artifactapi BENCH_APK_COUNT=20 scripts/bench_apkindex.sh  (no release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

COUNT=${BENCH_APK_COUNT:-1000}
REQUESTS=${BENCH_APK_REQUESTS:-20}

# apk files as abuild lays them out: control segment (.PKGINFO, a tar without end blocks) and
# data tarball, each its own gzip stream.
python3 - "$WORK/apks" "$COUNT" <<'PY'
import gzip, hashlib, io, os, sys, tarfile
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
def tar(files, end_blocks):
    raw = b""
    for name, data in files:
        info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644; info.mtime = 1700000000
        raw += info.tobuf(tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)
    return raw + (b"\0" * 1024 if end_blocks else b"")
for i in range(count):
    name = f"bench-pkg{i:05d}"
    data = gzip.compress(tar([(f"usr/share/{name}/README", f"{name}\n".encode())], True), mtime=0)
    info = (f"pkgname = {name}\npkgver = 1.0-r0\npkgdesc = benchmark package {i}\nurl = http://127.0.0.1/\n"
            f"builddate = 1700000000\nsize = 4096\narch = x86_64\norigin = {name}\nlicense = MIT\n"
            f"depend = so:libc.musl-x86_64.so.1\ndatahash = {hashlib.sha256(data).hexdigest()}\n").encode()
    control = gzip.compress(tar([(".PKGINFO", info)], False), mtime=0)
    open(f"{out}/{name}-1.0-r0.apk", "wb").write(control + data)
PY

bench_start
bench_repository '{"name":"alp","kind":"local","package":"alpine"}'
t0=$(date +%s.%N)
for f in "$WORK"/apks/*.apk; do
  curl -fsS -o /dev/null -T "$f" "$base/api/v1/local/alp/main/x86_64/$(basename "$f")" -H "Authorization: Bearer $TOKEN"
done
t1=$(date +%s.%N)
python3 -c "print(f'uploaded $COUNT apks in {$t1-$t0:.1f} s')"
bench_stop

bench_start
index="$base/api/v1/local/alp/main/x86_64/APKINDEX.tar.gz"
python3 - "$index" "$REQUESTS" "$COUNT" <<'PY'
import gzip, io, statistics, sys, tarfile, time, urllib.request
url, n, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def fetch():
    t0 = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        body = r.read()
    return (time.perf_counter() - t0) * 1000, body
cold, body = fetch()
with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as t:
    text = t.extractfile("APKINDEX").read().decode()
listed = text.count("\nP:")
if listed != count:
    sys.exit(f"the index lists {listed} packages, expected {count}")
warm = sorted(fetch()[0] for _ in range(n))
print(f"APKINDEX.tar.gz of {count} packages ({len(body)} bytes): cold {cold:.0f} ms, "
      f"warm median {statistics.median(warm):.0f} ms over {n} requests (goal: seconds)")
PY
echo "server peak RSS $(bench_peak_rss_mib) MiB"
bench_stop
