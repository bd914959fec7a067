#!/usr/bin/env bash
# Benchmark: promlab's image as a student's `docker build .` makes it (issue 14). Three figures:
#   1. a cold build: no layer cache (`--no-cache`; the base images themselves are present);
#   2. the image's size;
#   3. a rebuild after one source file changes: the dependency layer must come from the cache.
# Targets: cold ≤ 8 min on 2 cores, image ≤ 40 MB, rebuild ≤ 3 min.
#
# The build context is `git archive HEAD` in a temporary folder, so the tree is never edited.
# Where no registry is reachable, point the base images at local ones, as .ci/build-images makes them:
#   BUILDER_IMAGE=promlab-ci/rust:trixie RUNTIME_IMAGE=promlab-ci/debian:trixie bench/image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
builder=${BUILDER_IMAGE:-rust:1.91-slim-trixie}
runtime=${RUNTIME_IMAGE:-debian:trixie-slim}
tag=promlab:bench
context=$(mktemp -d)
trap 'rm -rf "$context"; docker rmi "$tag" >/dev/null 2>&1 || true' EXIT
git archive HEAD | tar -x -C "$context"

build() { # extra docker build arguments
  local start
  start=$(date +%s)
  docker build --network host --build-arg BUILDER_IMAGE="$builder" --build-arg RUNTIME_IMAGE="$runtime" \
    -t "$tag" "$@" "$context" >"$context.log" 2>&1 || { tail -40 "$context.log" >&2; exit 1; }
  echo $(($(date +%s) - start))
}

cold=$(build --no-cache)
size=$(docker image inspect -f '{{.Size}}' "$tag")
# One source file edited, as a contributor would: the dependencies' layer must be reused.
printf '\n// edited by bench/image.sh\n' >>"$context/src/version.rs"
rebuild=$(build)
deps_cached=no
grep -q 'Using cache' "$context.log" && deps_cached=yes
rm -f "$context.log"

printf '| cold build | image size | rebuild after one source edit | dependency layer cached |\n'
printf '|---|---|---|---|\n'
printf '| %dm%02ds | %.1f MB | %dm%02ds | %s |\n' $((cold / 60)) $((cold % 60)) \
  "$(echo "$size / 1000000" | bc -l)" $((rebuild / 60)) $((rebuild % 60)) "$deps_cached"
