#!/usr/bin/env bash
# rpm repodata benchmark (a figure, not a test): a hosted rpm repository of BENCH_REPODATA_RPMS
# (1,000) packages, its repodata (primary, filelists and other .xml.gz, repomd.xml) rendered from
# the database. Reports the time of the first repomd.xml after the last upload (renders the data
# files and stores them) and the median of BENCH_REPODATA_REQUESTS later ones (renders again and
# finds the data files stored), with the server's peak RSS before and after (goal: seconds, not
# minutes; memory bounded by the index, not the packages). dnf reads the result back
# (`repoquery` lists every package), so the figure is for repodata a client accepts.
# One real upload (an rpmbuild package) gives the row format; the other rows are copies of it
# with other names, written straight into SQLite (their files are the same stored blob).
#   BENCH_REPODATA_RPMS=1000 scripts/bench_repodata.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

RPMS=${BENCH_REPODATA_RPMS:-1000}
REQUESTS=${BENCH_REPODATA_REQUESTS:-20}
command -v rpmbuild >/dev/null || { apt-get update -qq && apt-get install -y -qq rpm >/dev/null; }

# A package with a dependency, a few files and a changelog, so every data file has content.
mkdir -p "$WORK/top/SPECS"
cat > "$WORK/top/SPECS/bench.spec" <<'SPEC'
Name: bench-rpm
Version: 1.0
Release: 1
Summary: ArtifactAPI repodata benchmark package
License: MIT
BuildArch: noarch
AutoReqProv: no
Requires: bash >= 4
Provides: bench-capability = 1.0
%description
A package whose header is copied a thousand times.
%install
mkdir -p %{buildroot}/opt/bench-rpm
for f in a b c d e f g h; do echo $f > %{buildroot}/opt/bench-rpm/$f.txt; done
%files
/opt/bench-rpm
%changelog
* Mon Dec 07 2026 Bench <bench@example.invalid> - 1.0-1
- First build
SPEC
rpmbuild -bb --quiet --define "_topdir $WORK/top" "$WORK/top/SPECS/bench.spec" >/dev/null 2>&1
RPM="$WORK/top/RPMS/noarch/bench-rpm-1.0-1.noarch.rpm"

bench_start
bench_repository '{"name":"el","kind":"local","package":"rpm"}'
curl -fsS -o /dev/null -X PUT "$base/api/v1/local/el/Packages/bench-rpm-1.0-1.noarch.rpm" \
  -H "Authorization: Bearer $TOKEN" --data-binary "@$RPM"
bench_stop

python3 - "$WORK/data/meta.db" "$RPMS" <<'PY'
import json, sqlite3, sys
db_path, rpms = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(db_path)
db.row_factory = sqlite3.Row
row = dict(db.execute("SELECT * FROM hosted_packages WHERE repo = 'el'").fetchone())
file_row = dict(db.execute("SELECT * FROM hosted_files WHERE repo = 'el' AND path = ?", (row["path"],)).fetchone())
meta = json.loads(row["meta"])
packages, files = [], []
for i in range(1, rpms):
    name = f"bench-rpm-{i:04d}"
    m = dict(meta, name=name, files=[dict(f, path=f["path"].replace("bench-rpm", name)) for f in meta["files"]],
             provides=[dict(p, name=p["name"].replace("bench-rpm", name)) for p in meta["provides"]])
    filename = f"{name}-1.0-1.noarch.rpm"
    path = f"Packages/{filename}"
    packages.append(dict(row, name=name, key=row["key"].replace("bench-rpm", name), filename=filename, path=path,
                         meta=json.dumps(m)))
    files.append(dict(file_row, path=path))
for table, rows in (("hosted_packages", packages), ("hosted_files", files)):
    cols = list(rows[0].keys())
    db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                   [[r[k] for k in cols] for r in rows])
db.commit()
print(f"{db.execute('SELECT count(*) FROM hosted_packages').fetchone()[0]} packages in the repository")
PY

bench_start
idle=$(bench_peak_rss_mib)
repomd="$base/api/v1/local/el/repodata/repomd.xml"
python3 - "$repomd" "$REQUESTS" <<'PY'
import statistics, sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
def fetch():
    t0 = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        r.read()
    return time.perf_counter() - t0
first = fetch()
rest = sorted(fetch() for _ in range(n))
print(f"repodata first render (data files stored): {first * 1000:.0f} ms")
print(f"repomd.xml after (rendered, files found):  median {statistics.median(rest) * 1000:.0f} ms, max {rest[-1] * 1000:.0f} ms")
PY
echo "server peak RSS: $idle MiB at start, $(bench_peak_rss_mib) MiB after the renders"
if command -v dnf >/dev/null; then
  listed=$(dnf -q --disablerepo='*' --repofrompath="bench,$base/api/v1/local/el/" --enablerepo=bench \
    --setopt=bench.gpgcheck=0 --installroot="$WORK/root" --setopt=cachedir="$WORK/cache" \
    repoquery --qf '%{name}' 2>/dev/null | grep -c '^bench-rpm' || true)
  [ "$listed" = "$RPMS" ] || { echo "dnf lists $listed packages, expected $RPMS"; exit 1; }
  echo "dnf repoquery lists all $listed packages"
fi
