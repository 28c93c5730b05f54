#!/usr/bin/env bash
# Installs everything drillbook needs on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL 15, Redis, nginx), the Toxiproxy server and CLI and the MinIO
# server and client built from their Go modules at pinned versions, the Python virtual environment with pinned dependencies, and the Allure
# command line from the npm registry. Each step is skipped when what it installs is present.
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION=v2.5.0
# MinIO publishes no semantic versions of its Go modules: pinned to commits (pseudo-versions).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
TOOLS="$PWD/.tools"
say() { printf '[setup] %s\n' "$*"; }

need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15 postgresql-client-15)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v nginx >/dev/null || need_apt+=(nginx)
command -v runuser >/dev/null || need_apt+=(util-linux)
command -v go >/dev/null || need_apt+=(golang-go)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# go_tool NAME PACKAGE VERSION: `go install` PACKAGE at VERSION as .tools/bin/NAME, unless there
go_tool() {
  local name=$1 package=$2 version=$3
  [ -x "$TOOLS/bin/$name" ] && grep -qx "$version" "$TOOLS/$name.version" 2>/dev/null && return
  say "building $name $version from the Go module $package"
  rm -rf "$TOOLS/go-bin/$name" && mkdir -p "$TOOLS/go-bin/$name" "$TOOLS/bin"
  GOBIN="$TOOLS/go-bin/$name" go install "$package@$version"
  mv -f "$TOOLS/go-bin/$name/"* "$TOOLS/bin/$name"
  echo "$version" > "$TOOLS/$name.version"
}
go_tool toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server "$TOXIPROXY_VERSION"
go_tool toxiproxy-cli github.com/Shopify/toxiproxy/v2/cmd/cli "$TOXIPROXY_VERSION"
go_tool minio github.com/minio/minio "$MINIO_VERSION"
go_tool mc github.com/minio/mc "$MC_VERSION"

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "creating the Python virtual environment in .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ ! -x node_modules/.bin/allure ]; then
  say "installing the Allure command line from the npm registry"
  npm install --no-audit --no-fund --silent >/dev/null
fi
say "ready: $(.venv/bin/python --version), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), $(redis-server --version | awk '{print $3}'), Toxiproxy $TOXIPROXY_VERSION, MinIO $MINIO_VERSION"
