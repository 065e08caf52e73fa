#!/usr/bin/env bash
# The benchmark command (also `./compile.sh bench`, which builds dist/cordon first): builds the
# benchmark programs, and cordon when dist/cordon is missing, then runs the runner.
# Options are the runner's: bench/run.sh --help.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

make -s -C bench >&2

no_build=0
for arg in "$@"; do
  case "$arg" in
    -h|--help|--list) no_build=1 ;;
  esac
done
# `./compile.sh bench` has just built dist/cordon. Run directly, we build it only when it is
# missing (a failed build is reported; cordon's columns then say n/a, the other peers still
# run), and warn when its sources look newer: comparing times cannot tell a stale binary from an
# incremental build that left an unchanged file alone, and building twice costs half a minute.
if [[ $no_build == 0 && -z "${CORDON_BENCH_BINARY:-}" && -x ./compile.sh ]]; then
  if [[ ! -e dist/cordon ]]; then
    echo "bench: building cordon with ./compile.sh" >&2
    ./compile.sh >&2 || echo "bench: ./compile.sh failed; cordon will be n/a" >&2
  elif [[ -n "$(find src sentry ffi netstack -newer dist/cordon -type f 2>/dev/null | head -1)" ]]; then
    echo "bench: dist/cordon may be older than its sources (./compile.sh bench rebuilds first)" >&2
  fi
fi

# compile.sh puts its pinned Deno on PATH; run directly, fall back to the copy it installs.
deno=$(command -v deno || true)
if [[ -z $deno && -x build/toolchain/node_modules/@deno/linux-x64-glibc/deno ]]; then
  deno=build/toolchain/node_modules/@deno/linux-x64-glibc/deno
fi
[[ -n $deno ]] || { echo "bench: deno not found (./compile.sh installs it)" >&2; exit 1; }
exec "$deno" run --allow-all bench/runner/main.ts "$@"
