#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install dependencies (apt, Debian 12)
#   2. build with warnings as errors and run every ctest test (unit, integration,
#      namespace and VM tests; run as root)
#   3. rebuild with ASan+UBSan and run the unit tests again
#   4. build the libFuzzer targets with clang and run each for a bounded time
# Environment: JOBS (default: nproc), FUZZ_SECONDS (default 20), SKIP_ASAN=1, SKIP_FUZZ=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "build (RelWithDebInfo, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$JOBS"

step "tests (ctest: unit, integration, namespaces, VM)"
(cd build && ctest --output-on-failure -j"$JOBS")

if [[ "${SKIP_ASAN:-0}" != 1 ]]; then
  step "ASan+UBSan build, unit tests"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHD_SANITIZE=ON -DHD_BENCH=OFF >/dev/null
  ninja -C build-asan -j"$JOBS"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j"$JOBS" -L unit)
fi

if [[ "${SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzz targets, ${FUZZ_SECONDS}s each"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHD_FUZZ=ON -DHD_TESTS=OFF >/dev/null
  ninja -C build-fuzz -j"$JOBS"
  fuzz_pass=0
  while IFS= read -r target; do
    name=$(basename "$target")
    src_dir=$(dirname "${target#"$ROOT"/build-fuzz/}")
    work=$(mktemp -d)
    seeds=()
    [[ -d "$ROOT/$src_dir/corpus" ]] && seeds=("$ROOT/$src_dir/corpus")
    echo "-- $name"
    "$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 \
      "$work" "${seeds[@]}" >"$work.log" 2>&1 || { tail -50 "$work.log"; exit 1; }
    grep -E "stat::number_of_executed_units|Done" "$work.log" | tail -2
    rm -rf "$work" "$work.log"
    fuzz_pass=$((fuzz_pass + 1))
  done < <(find "$ROOT/build-fuzz/tests/fuzz" -type f -perm -u+x -name '*_fuzz' | sort)
  echo "fuzz: $fuzz_pass passed, 0 failed"
fi
