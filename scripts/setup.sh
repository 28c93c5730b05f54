#!/usr/bin/env bash
# Installs everything drillbook needs on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL 15, Redis, nginx, Prometheus, Alertmanager and the PostgreSQL and
# Redis exporters), the Toxiproxy server and CLI, the MinIO server
# and client, etcd and the Kubernetes control plane with kubectl, all built from their Go modules
# at pinned versions, the Python virtual environment with pinned dependencies, and the Allure
# command line from the npm registry. Each step is skipped when what it installs is present.
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION=v2.5.0
# MinIO publishes no semantic versions of its Go modules: pinned to commits (pseudo-versions).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
# Kubernetes and etcd are built from wrapper modules whose go.mod pins their versions.
KUBERNETES_VERSION=$(grep -oE 'k8s.io/kubernetes v[0-9.]+' scripts/kubernetes/go.mod | cut -d' ' -f2)
ETCD_VERSION=$(grep -oE 'go.etcd.io/etcd/server/v3 v[0-9.]+' scripts/etcd/go.mod | cut -d' ' -f2)
TOOLS="$PWD/.tools"
say() { printf '[setup] %s\n' "$*"; }

need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15 postgresql-client-15)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v nginx >/dev/null || need_apt+=(nginx)
command -v runuser >/dev/null || need_apt+=(util-linux)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v go >/dev/null || need_apt+=(golang-go)
command -v npm >/dev/null || need_apt+=(npm)
for package in prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-redis-exporter mtail; do
  command -v "$package" >/dev/null || need_apt+=("$package")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  # The packages' own daemons are not started (invoke-rc.d asks policy-rc.d): the harness runs
  # its own Prometheus, Alertmanager and exporters, on its own ports, for each run.
  policy=/usr/sbin/policy-rc.d own_policy=
  if [ ! -e "$policy" ]; then
    own_policy=1
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f "$policy"; trap - EXIT; fi
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

# module_tool NAME FOLDER LDFLAGS: `go build` the wrapper module scripts/FOLDER as .tools/bin/NAME,
# unless built before from the same go.mod, go.sum and main.go. A line every 30 s while it runs:
# the first build of Kubernetes takes minutes.
module_tool() {
  local name=$1 folder=scripts/$2 ldflags=$3 key
  key=$(cat "$folder/go.mod" "$folder/go.sum" "$folder/main.go" | sha256sum | cut -c1-16)
  [ -x "$TOOLS/bin/$name" ] && grep -qx "$key" "$TOOLS/$name.version" 2>/dev/null && return
  say "building $name from the Go modules pinned in $folder/go.mod (minutes the first time)"
  local started=$SECONDS
  (while sleep 30; do say "  still building $name ($(( SECONDS - started )) s)"; done) &
  local ticker=$!
  # the ticker goes with the build, also when setup is interrupted or fails
  trap "kill $ticker 2>/dev/null" EXIT
  (cd "$folder" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$TOOLS/bin/$name.new" .)
  kill $ticker
  trap - EXIT
  mv -f "$TOOLS/bin/$name.new" "$TOOLS/bin/$name"
  echo "$key" > "$TOOLS/$name.version"
  say "built $name in $(( SECONDS - started )) s"
}
mkdir -p "$TOOLS/bin"
module_tool etcd etcd "-s -w"
version_flags="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $package.gitVersion=$KUBERNETES_VERSION -X $package.gitTreeState=clean"
  version_flags+=" -X $package.gitMajor=1 -X $package.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
done
module_tool kube kubernetes "$version_flags"
# one binary, four programs: it acts as the name it is called by
for program in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  ln -sfn kube "$TOOLS/bin/$program"
done

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
say "ready: $(.venv/bin/python --version), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), $(redis-server --version | awk '{print $3}'), Toxiproxy $TOXIPROXY_VERSION, MinIO $MINIO_VERSION, Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION"
