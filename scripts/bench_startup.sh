#!/usr/bin/env bash
# Start-up benchmark (a figure, not a test): time from exec to the first successful answer, for
# this server with embedded defaults (`/api/v2/health`, and `/api/v2/health/ready` = 200, i.e. the
# database migrated and every backend open) against the CNCF distribution registry (`/v2/`),
# both on a fresh data directory, and this server restarting on an existing one. Rounds
# alternate between the servers; figures are medians.
#   BENCH_STARTUP_ROUNDS=15 scripts/bench_startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_STARTUP_ROUNDS:-15}
command -v docker-registry >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-registry >/dev/null; }
cargo build --release --quiet --bin artifactapi
BIN=$PWD/target/release/artifactapi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One Python process spawns each server and polls its port every 0.2 ms, so the figure is the
# server's start-up, not a shell's or curl's.
python3 - "$BIN" "$WORK" "$ROUNDS" <<'PY'
import os, socket, statistics, subprocess, sys, time

binary, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def answered(port, path, want_ok):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = c.recv(64)
            return head.startswith(b"HTTP/1.1 200") if want_ok else head.startswith(b"HTTP/1.1 ")
    except OSError:
        return False

def timed(argv, env, cwd, port, paths):
    """Seconds from exec until each of `paths` answers 200, in order."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    try:
        for path in paths:
            while not answered(port, path, True):
                if proc.poll() is not None:
                    raise SystemExit(f"{argv[0]} exited with {proc.returncode}")
                if time.perf_counter() - start > 30:
                    raise SystemExit(f"{argv[0]} did not answer {path}")
                time.sleep(0.0002)
            times.append(time.perf_counter() - start)
    finally:
        proc.terminate(); proc.wait()
    return times

def ours(data, port):
    env = dict(os.environ, ARTIFACTAPI_LISTEN=f"127.0.0.1:{port}",
               ARTIFACTAPI_ADMIN_TOKEN="bench-admin-token-0123456789")
    return timed([binary, "serve"], env, data, port, ["/api/v2/health", "/api/v2/health/ready"])

def distribution(data, port):
    config = os.path.join(data, "config.yml")
    with open(config, "w") as f:
        f.write(f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {data}/data}}}}\n"
                f"http: {{addr: 127.0.0.1:{port}}}\n")
    return timed(["docker-registry", "serve", config], dict(os.environ), data, port, ["/v2/"])

fresh_live, fresh_ready, warm_live, warm_ready, dist = [], [], [], [], []
warm_dir = os.path.join(work, "warm"); os.makedirs(warm_dir)
ours(warm_dir, free_port())  # the warm directory's first (fresh) start
for r in range(rounds):
    d = os.path.join(work, f"dist-{r}"); os.makedirs(d)
    dist += distribution(d, free_port())
    a = os.path.join(work, f"ours-{r}"); os.makedirs(a)
    live, ready = ours(a, free_port()); fresh_live.append(live); fresh_ready.append(ready)
    live, ready = ours(warm_dir, free_port()); warm_live.append(live); warm_ready.append(ready)

ms = lambda xs: statistics.median(xs) * 1000
d = ms(dist)
print(f"start-up, medians of {rounds} alternating rounds (ms):")
print(f"  distribution /v2/              {d:7.1f}")
print(f"  artifactapi fresh  liveness    {ms(fresh_live):7.1f}   ratio {ms(fresh_live)/d:.2f}x  (target <= 1.0x)")
print(f"  artifactapi fresh  ready       {ms(fresh_ready):7.1f}   ratio {ms(fresh_ready)/d:.2f}x")
print(f"  artifactapi restart liveness   {ms(warm_live):7.1f}   ratio {ms(warm_live)/d:.2f}x")
print(f"  artifactapi restart ready      {ms(warm_ready):7.1f}   ratio {ms(warm_ready)/d:.2f}x")
PY
