#!/usr/bin/env bash
# Builds the containers environment's images locally, idempotently, pulling nothing from a
# registry: a Debian bookworm base root filesystem made by debootstrap from the mirror apt uses
# here, imported as an image, then one image per folder of environments/containers/images/,
# from its Dockerfile on that base, with the set-up's own binaries its `binaries` file names
# (from .tools/bin). Each tag carries a hash of everything it is built from, so an image is
# built again only when one of its inputs changed. Starts dockerd when it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
SOURCES=/etc/apt/sources.list.d/debian.sources
MIRROR=$(awk '/^URIs:/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TOOLS="$PWD/.tools"
DOCKERD_LOG=/var/log/drillbook-dockerd.log
say() { printf '[images] %s\n' "$*"; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "dockerd is not running: starting it (its log: $DOCKERD_LOG)"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { say "dockerd did not answer within 30 s; see $DOCKERD_LOG"; exit 1; }
fi

# The base: a minimal root filesystem of the suite, from the mirror, imported as an image.
base_key=$(printf '%s %s minbase\n' "$SUITE" "$MIRROR" | sha256sum | cut -c1-12)
BASE=drillbook/base:$SUITE-$base_key
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  say "making the $SUITE root filesystem with debootstrap from $MIRROR"
  started=$SECONDS
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "base image $BASE in $(( SECONDS - started )) s"
fi

# One image per component, tagged with the hash of its base, its folder and its binaries.
for folder in environments/containers/images/*/; do
  name=$(basename "$folder")
  binaries=()
  if [ -f "$folder/binaries" ]; then mapfile -t binaries < "$folder/binaries"; fi
  inputs=$(
    echo "$BASE"
    find "$folder" -type f -print0 | sort -z | xargs -0 sha256sum
    for binary in "${binaries[@]}"; do cat "$TOOLS/$binary.version"; done
  )
  tag=drillbook/$name:$(sha256sum <<<"$inputs" | cut -c1-12)
  if docker image inspect "$tag" >/dev/null 2>&1; then
    # `latest` may name another build (inputs changed, then changed back)
    docker tag "$tag" "drillbook/$name:latest"
    continue
  fi
  say "building $tag"
  context=$(mktemp -d)
  trap 'rm -rf "$context" "$context.log"' EXIT
  cp -r "$folder". "$context/"
  for binary in "${binaries[@]}"; do
    cp "$TOOLS/bin/$binary" "$context/$binary"
  done
  started=$SECONDS
  # Debian's engine has no BuildKit; the legacy builder's deprecation notice is noise here,
  # so its output is shown only when a build fails.
  if ! docker build -q --build-arg BASE="$BASE" -t "$tag" "$context" >"$context.log" 2>&1; then
    cat "$context.log"; say "building $tag failed"; exit 1
  fi
  docker tag "$tag" "drillbook/$name:latest"
  rm -rf "$context" "$context.log"
  trap - EXIT
  say "built $tag in $(( SECONDS - started )) s"
done
