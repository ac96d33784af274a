#!/usr/bin/env bash
# Registry benchmark (figures, not pass/fail): skopeo pushes and pulls an image of three 64 MiB
# layers to a local docker repository of this server and to Debian's docker-registry (the CNCF
# distribution registry, filesystem storage), in the same run, with each server's peak RSS.
# Target: push and pull times <= 1.0x the distribution registry's, peak RSS lower.
#   BENCH_LAYER_MB=64 BENCH_ROUNDS=5 scripts/bench_registry.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER_MB=${BENCH_LAYER_MB:-64}
ROUNDS=${BENCH_ROUNDS:-5}
TOKEN=bench-admin-token-0123456789
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need skopeo skopeo
need docker-registry docker-registry
need curl curl
cargo build --release --quiet --bin artifactapi
BIN=$PWD/target/release/artifactapi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
now() { date +%s.%N; }

# An OCI layout with three layers of random data, gzip-framed so skopeo sends them unchanged.
echo "building an image of 3 x ${LAYER_MB} MiB layers"
python3 - "$WORK/image" "$LAYER_MB" <<'PY'
import hashlib, json, os, subprocess, sys
root, mb = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
def put(data, media):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}
layers, diff_ids = [], []
for i in range(3):
    raw = os.urandom(mb * 1024 * 1024)
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    gz = subprocess.run(["gzip", "-1", "-n", "-c"], input=raw, capture_output=True, check=True).stdout
    layers.append(put(gz, "application/vnd.oci.image.layer.v1.tar+gzip"))
config = put(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode(),
             "application/vnd.oci.image.config.v1+json")
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": layers}).encode(), "application/vnd.oci.image.manifest.v1+json")
manifest["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
json.dump({"schemaVersion": 2, "manifests": [manifest]}, open(os.path.join(root, "index.json"), "w"))
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY

# one_round NAME HOST/REPO ROUND [skopeo creds args...]: a push (to a fresh image name, so no
# layer is already there) and a pull; appends "push pull" seconds to $WORK/NAME.rounds.
one_round() {
  local name=$1 target=$2 r=$3; shift 3
  local t0 t1 t2
  # skopeo remembers where it saw each blob and would mount instead of uploading; forget it.
  rm -f /var/lib/containers/cache/blob-info-cache-v1.* "${XDG_DATA_HOME:-$HOME/.local/share}"/containers/cache/blob-info-cache-v1.*
  t0=$(now)
  skopeo --insecure-policy copy -q --dest-tls-verify=false "$@" "oci:$WORK/image:bench" "docker://$target/img$r:bench"
  t1=$(now)
  rm -rf "$WORK/pulled"
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$target/img$r:bench" "oci:$WORK/pulled:bench"
  t2=$(now)
  python3 -c "print(f'{$t1-$t0:.3f} {$t2-$t1:.3f}')" >> "$WORK/$name.rounds"
}

# report NAME PID: the median push and pull of its rounds, and its peak RSS.
report() {
  local name=$1 pid=$2 med_push med_pull
  med_push=$(cut -d' ' -f1 "$WORK/$name.rounds" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
  med_pull=$(cut -d' ' -f2 "$WORK/$name.rounds" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
  printf '%-16s push %6ss  pull %6ss  (median of %s; push/pull per round: %s)  peak RSS %6s MiB\n' \
    "$name" "$med_push" "$med_pull" "$ROUNDS" "$(tr '\n' ',' < "$WORK/$name.rounds" | sed 's/,$//')" "$(peak_rss_mib "$pid")"
  echo "$med_push $med_pull" > "$WORK/$name.times"
}

# The distribution registry, filesystem storage.
DPORT=$(free_port)
mkdir -p "$WORK/distribution"
cat > "$WORK/distribution/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/distribution/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$DPORT}
YML
docker-registry serve "$WORK/distribution/config.yml" >"$WORK/distribution/log" 2>&1 &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$DPORT/v2/" >/dev/null && break; sleep 0.1; done

# This server, embedded defaults (SQLite + filesystem).
APORT=$(free_port)
mkdir -p "$WORK/artifactapi"
(cd "$WORK/artifactapi" && exec env ARTIFACTAPI_LISTEN="127.0.0.1:$APORT" ARTIFACTAPI_ADMIN_TOKEN=$TOKEN \
  "$BIN" serve >/dev/null 2>"$WORK/artifactapi/log") &
APID=$!
PIDS+=("$APID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APORT/api/v2/health" >/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$APORT/api/v2/repositories" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","kind":"local","package":"docker"}'

# Rounds alternate between the two servers, so neither gains from running second (warm page
# cache, a settled machine).
for r in $(seq 1 "$ROUNDS"); do
  one_round distribution "127.0.0.1:$DPORT/bench" "$r"
  one_round artifactapi "127.0.0.1:$APORT/bench" "$r" --dest-creds "bench:$TOKEN"
done
report distribution "$DPID"
report artifactapi "$APID"
read -r DPUSH DPULL < "$WORK/distribution.times"
read -r APUSH APULL < "$WORK/artifactapi.times"
python3 -c "print(f'registry ratio (artifactapi / distribution): push {$APUSH/$DPUSH:.2f}x  pull {$APULL/$DPULL:.2f}x  (target <= 1.0x)')"
