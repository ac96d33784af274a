#!/usr/bin/env bash
# The one test entry point; CI runs it through .ci/run. On a fresh Debian machine it installs and
# starts PostgreSQL and Redis, then runs: fmt check, clippy -D warnings, every test (unit,
# contract suites against every adapter, architecture, OpenAPI spec check, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

as_postgres() { su postgres -c "$1"; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    echo "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL did not start"; exit 1; }
  # Password auth works whether pg_hba says trust or scram for 127.0.0.1.
  as_postgres "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  as_postgres "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 || as_postgres "createdb test"
  # Databases left by earlier runs' failed tests (each test creates its own aa_test_<hex>).
  for db in $(as_postgres "psql -tAc \"SELECT datname FROM pg_database WHERE datname LIKE 'aa\\_test\\_%'\""); do
    as_postgres "dropdb --if-exists '$db'" || true
  done
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing Redis"
    apt_install redis-server redis-tools
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/test.log
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis did not start"; exit 1; }
}

# Real package clients the end-to-end tests drive.
ensure_clients() {
  command -v curl >/dev/null 2>&1 || { echo "installing curl"; apt_install curl ca-certificates; }
  command -v npm >/dev/null 2>&1 || { echo "installing npm"; apt_install nodejs npm; }
  python3 -m pip --version >/dev/null 2>&1 || { echo "installing pip"; apt_install python3-pip; }
  command -v go >/dev/null 2>&1 || { echo "installing go"; apt_install golang-go; }
  command -v skopeo >/dev/null 2>&1 || { echo "installing skopeo"; apt_install skopeo; }
  command -v docker-registry >/dev/null 2>&1 || { echo "installing docker-registry"; apt_install docker-registry; }
  command -v dnf >/dev/null 2>&1 && command -v createrepo_c >/dev/null 2>&1 && command -v rpmbuild >/dev/null 2>&1 \
    || { echo "installing dnf, createrepo_c and rpmbuild"; apt_install dnf createrepo-c rpm; }
  command -v puppet >/dev/null 2>&1 || { echo "installing puppet"; apt_install puppet; }
  python3 -m uv --version >/dev/null 2>&1 || { echo "installing uv"; python3 -m pip install -q uv; }
  python3 -m twine --version >/dev/null 2>&1 || { echo "installing twine"; python3 -m pip install -q twine; }
  python3 -m schemathesis.cli --version >/dev/null 2>&1 || { echo "installing schemathesis"; python3 -m pip install -q schemathesis; }
  command -v podman >/dev/null 2>&1 && command -v buildah >/dev/null 2>&1 || { echo "installing podman and buildah"; apt_install podman buildah; }
  command -v tar >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1 || apt_install tar gzip
  # The web UI's browser test (Debian's Chromium driven by Playwright; never `playwright install`)
  # and the TUI's terminal test.
  [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1 \
    || { echo "installing chromium and chromium-driver"; apt_install chromium chromium-driver; }
  python3 -c 'import playwright.sync_api' >/dev/null 2>&1 || { echo "installing playwright"; python3 -m pip install -q playwright; }
  command -v tmux >/dev/null 2>&1 || { echo "installing tmux"; apt_install tmux; }
  # The provider registry test checks our SHA256SUMS signatures with gpg as well as terraform.
  command -v gpg >/dev/null 2>&1 || { echo "installing gpg"; apt_install gpg; }
  # terraform-provider-artifactapi (tf-provider's build script compiles the plugin protocol).
  command -v protoc >/dev/null 2>&1 || { echo "installing protobuf-compiler"; apt_install protobuf-compiler; }
}

ensure_postgres
ensure_redis
ensure_clients

export ARTIFACTAPI_REQUIRE_BACKENDS=1
# No Debian package ships Terraform: e2e_terraform skips its CLI steps (saying so) where the
# machine has none, and must run them where it has one.
if command -v terraform >/dev/null 2>&1; then
  export ARTIFACTAPI_REQUIRE_TERRAFORM=1
else
  echo "NOTE: no terraform CLI on PATH: e2e_terraform skips its terraform init steps"
fi
export ARTIFACTAPI_TEST_DATABASE_URL="${ARTIFACTAPI_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}"
export ARTIFACTAPI_TEST_REDIS_URL="${ARTIFACTAPI_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets
