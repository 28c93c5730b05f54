#!/usr/bin/env bash
# Installs everything drillbook needs on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL 15, Redis), the Toxiproxy server and CLI built from their Go module
# at a pinned version, the Python virtual environment with pinned dependencies, and the Allure
# command line from the npm registry. Each step is skipped when what it installs is present.
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION=v2.5.0
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
if [ ! -x "$TOOLS/bin/toxiproxy-server" ] || ! grep -q "$TOXIPROXY_VERSION" "$TOOLS/toxiproxy.version" 2>/dev/null; then
  say "building Toxiproxy $TOXIPROXY_VERSION from its Go module"
  mkdir -p "$TOOLS/go-bin" "$TOOLS/bin"
  GOBIN="$TOOLS/go-bin" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  GOBIN="$TOOLS/go-bin" go install "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
  mv -f "$TOOLS/go-bin/server" "$TOOLS/bin/toxiproxy-server"
  mv -f "$TOOLS/go-bin/cli" "$TOOLS/bin/toxiproxy-cli"
  echo "$TOXIPROXY_VERSION" > "$TOOLS/toxiproxy.version"
fi

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
say "ready: $(.venv/bin/python --version), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), $(redis-server --version | awk '{print $3}'), Toxiproxy $TOXIPROXY_VERSION"
