#!/usr/bin/env bash
# The benchmark command (also `./compile.sh bench`): builds the benchmark programs and, when the
# cordon binary is missing or older than its sources, cordon itself, then runs the runner.
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
# Build dist/cordon through the project's build when it exists and the binary is stale; a failed
# build is reported and cordon's columns then say n/a, the other peers still run.
if [[ $no_build == 0 && -z "${CORDON_BENCH_BINARY:-}" && -x ./compile.sh && -z "${CORDON_BENCH_NO_BUILD:-}" ]]; then
  if [[ ! -e dist/cordon ]] || [[ -n "$(find src sentry ffi netstack -newer dist/cordon -type f 2>/dev/null | head -1)" ]]; then
    echo "bench: building cordon with ./compile.sh" >&2
    CORDON_BENCH_NO_BUILD=1 ./compile.sh >&2 || echo "bench: ./compile.sh failed; cordon will be n/a" >&2
  fi
fi

exec deno run --allow-all bench/runner/main.ts "$@"
