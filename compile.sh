#!/usr/bin/env bash
# Builds Cordon into one self-contained executable, dist/cordon, and runs its tests.
#
#   ./compile.sh             build dist/cordon (incremental)
#   ./compile.sh test [ARGS] build, then run every test (ARGS go to `deno test`; without
#                            ARGS it also runs the reproducibility check below)
#   ./compile.sh bench [ARGS] build, then run bench/run.sh
#   ./compile.sh reproduce   rebuild everything into a scratch directory and check that the
#                            result is byte-identical to dist/cordon
#   ./compile.sh clean       remove build outputs
#
# On a fresh Debian machine it installs what it lacks: Deno 2.9.6 from npm into
# build/toolchain/ (unless that exact version is on PATH), and the C toolchain pieces from
# Debian (as root; otherwise it says which packages to install).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"

DENO_VERSION=2.9.6
TOOLCHAIN=$ROOT/build/toolchain
BUNDLE=$ROOT/build/bundle/cordon.js
DIST=$ROOT/dist/cordon

log() { printf 'compile.sh: %s\n' "$*" >&2; }
die() {
  printf 'compile.sh: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------
# Tools

APT_UPDATED=""
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    die "missing tools; install them with: sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install them with"
  log "installing from Debian: $*"
  export DEBIAN_FRONTEND=noninteractive
  # Package lists on a fresh machine may be stale: refresh once, and only if needed.
  if apt-get install -y -q --no-install-recommends "$@"; then return; fi
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -q || die "apt-get update failed"
    APT_UPDATED=1
    apt-get install -y -q --no-install-recommends "$@" && return
  fi
  die "apt-get install $* failed"
}

# Debian packages for the build; each entry is "test-command:package".
ensure_build_tools() {
  local missing=() entry
  for entry in "command -v gcc:gcc" "command -v make:make" "command -v zstd:zstd" \
    "test -e /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev" \
    "test -e /usr/lib/x86_64-linux-gnu/libzstd.a:libzstd-dev"; do
    if ! eval "${entry%%:*}" >/dev/null 2>&1; then missing+=("${entry##*:}"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Only what the test programs need on top of the build (musl-gcc for the conformance suite).
ensure_test_tools() {
  if ! command -v musl-gcc >/dev/null; then apt_install musl-tools; fi
}

deno_is_pinned() { # PATH-TO-DENO
  [ -x "$1" ] && [ "$("$1" --version 2>/dev/null | head -n1 | cut -d' ' -f2)" = "$DENO_VERSION" ]
}

# Sets DENO to a deno binary of exactly $DENO_VERSION.
ensure_deno() {
  local on_path local_copy=$TOOLCHAIN/node_modules/@deno/linux-x64-glibc/deno
  on_path=$(command -v deno || true)
  if [ -n "$on_path" ] && deno_is_pinned "$on_path"; then
    DENO=$(readlink -f "$on_path")
  elif deno_is_pinned "$local_copy"; then
    DENO=$local_copy
  else
    if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
    log "installing deno@$DENO_VERSION from npm into build/toolchain/"
    mkdir -p "$TOOLCHAIN"
    npm install --prefix "$TOOLCHAIN" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" ||
      die "npm install deno@$DENO_VERSION failed"
    deno_is_pinned "$local_copy" || die "npm installed no usable deno $DENO_VERSION at $local_copy"
    DENO=$local_copy
  fi
  export PATH="$(dirname "$DENO"):$PATH"
}

# ---------------------------------------------------------------------------------------
# Build steps

# Bundles src/main.ts (and every module it imports, dynamic imports included) into one file,
# minified: half the bytes for V8 to scan, and half the memory for the two copies of the source
# every cordon process holds (Deno's and V8's). --keep-names keeps function and class names
# for the stack traces of sentry bug reports.
# Beside it, cordon-eager.js: the same with its functions compiled eagerly, for the commands
# that start a sentry (ffi/launcher/eager_bundle.ts says why).
# The outputs are replaced only when their bytes change, so that make sees unchanged bundles.
build_bundle() { # OUTPUT
  local output=$1 eager
  eager="$(dirname "$output")/cordon-eager.js"
  mkdir -p "$(dirname "$output")"
  "$DENO" bundle --quiet --platform deno --minify --keep-names -o "$output.new" src/main.ts ||
    die "deno bundle src/main.ts failed"
  "$DENO" run --quiet --no-config --no-lock --allow-read --allow-write \
    ffi/launcher/eager_bundle.ts "$output.new" "$eager.new" ||
    die "ffi/launcher/eager_bundle.ts failed"
  if cmp -s "$output.new" "$output"; then rm "$output.new"; else mv "$output.new" "$output"; fi
  if cmp -s "$eager.new" "$eager"; then rm "$eager.new"; else mv "$eager.new" "$eager"; fi
}

build() {
  ensure_build_tools
  ensure_deno
  log "libsandbox: make -C ffi"
  make -s -C ffi
  log "bundles: build/bundle/cordon.js, cordon-eager.js"
  build_bundle "$BUNDLE"
  log "single file: dist/cordon"
  make -s -C ffi/launcher DENO="$DENO" BUNDLE="$BUNDLE" EAGER_BUNDLE="$(dirname "$BUNDLE")/cordon-eager.js" \
    LIBRARY="$ROOT/ffi/build/libsandbox.so" OUT="$DIST"
  # A smoke test: a build that cannot even print its version is not a build.
  "$DIST" --version >/dev/null || die "dist/cordon --version failed"
  log "built dist/cordon ($(stat -c %s "$DIST") bytes, sha256 $(sha256sum "$DIST" | cut -c1-16)...)"
}

# Rebuilds libsandbox, the bundle, the launcher and the file from scratch in build/reproduce/
# and compares with dist/cordon. Deno's compressed copy is reused when Deno's bytes are the
# same (zstd's output depends only on its input, level and version); set REPRODUCE_DENO=1 to
# recompress it too.
reproduce() {
  local scratch=$ROOT/build/reproduce
  rm -rf "$scratch"
  mkdir -p "$scratch/launcher"
  if [ "${REPRODUCE_DENO:-}" != 1 ]; then
    cp -p build/launcher/deno.id build/launcher/deno.zst "$scratch/launcher/"
  fi
  make -s -C ffi B="$scratch/ffi" "$scratch/ffi/libsandbox.so"
  build_bundle "$scratch/bundle/cordon.js"
  make -s -C ffi/launcher B="$scratch/launcher" DENO="$DENO" BUNDLE="$scratch/bundle/cordon.js" \
    EAGER_BUNDLE="$scratch/bundle/cordon-eager.js" LIBRARY="$scratch/ffi/libsandbox.so" OUT="$scratch/cordon"
  local first second
  first=$(sha256sum <"$DIST" | cut -d' ' -f1)
  second=$(sha256sum <"$scratch/cordon" | cut -d' ' -f1)
  if [ "$first" != "$second" ]; then
    for part in launcher/launcher launcher/cordon.js.zst launcher/cordon-eager.js.zst launcher/libsandbox.so.zst \
      launcher/deno.zst; do
      cmp -s "build/$part" "$scratch/$part" || log "differs: build/$part"
    done
    die "not reproducible: dist/cordon $first, rebuilt $second"
  fi
  log "reproducible: dist/cordon and a scratch rebuild are both sha256 $first"
}

# With no ARGS, also checks that the build is reproducible (a few seconds).
run_tests() {
  build
  ensure_test_tools
  log "conformance programs: make -C tests/conformance"
  make -s -C tests/conformance
  local roots=(tests/)
  if [ -d netstack ]; then roots+=(netstack/); fi
  log "deno test -A ${roots[*]} $*"
  local status=0
  "$DENO" test -A "${roots[@]}" "$@" || status=$?
  if [ $# -eq 0 ]; then
    log "reproducibility: rebuilding into build/reproduce/"
    (reproduce) || status=1
  fi
  return $status
}

case "${1:-build}" in
build) build ;;
test)
  shift
  run_tests "$@"
  ;;
bench)
  shift
  build
  if [ -x bench/run.sh ]; then
    exec bench/run.sh "$@"
  else
    die "bench/run.sh does not exist yet"
  fi
  ;;
reproduce)
  build
  reproduce
  ;;
clean)
  rm -rf build dist tests/build
  make -s -C ffi clean
  ;;
-h | --help | help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown command '$1' (try ./compile.sh --help)" ;;
esac
