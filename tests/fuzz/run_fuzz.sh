#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for SECONDS, starting from the shipped config as the seed.
# Prints libFuzzer's figures (executions, coverage); fails on any finding.
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR SECONDS}" && pwd)
seconds=${2:-60}
out="$build/fuzz"
mkdir -p "$out/corpus-metrics-config"
cp "$src/config/netstacklat.yaml" "$out/corpus-metrics-config/seed.yaml"

clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$src/daemon" -I"$src/bpf" -I"$build/daemon" \
  "$src/tests/fuzz/fuzz_metrics_config.cpp" "$src/daemon/metrics_config.cpp" \
  "$src/daemon/errors.cpp" "$src/daemon/yaml_util.cpp" "$build/daemon/builtin_metrics_config.cpp" \
  -lyaml-cpp -o "$out/fuzz_metrics_config"

cd "$out"
./fuzz_metrics_config -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -print_final_stats=1 corpus-metrics-config 2>&1 | tail -n 25
