#!/usr/bin/env bash
# Builds the libFuzzer targets (the two config parsers, the HTTP request parser) with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for SECONDS, starting from the shipped config as the seed.
# Prints libFuzzer's figures (executions, coverage); fails on any finding.
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR SECONDS}" && pwd)
seconds=${2:-60}
out="$build/fuzz"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$src/daemon" -I"$src/bpf" -I"$build/daemon")

# build_target NAME SEED SOURCES...: fuzz_NAME.cpp with the sources it tests.
build_target() {
  local name=$1 seed=$2; shift 2
  mkdir -p "$out/corpus-$name"
  cp "$seed" "$out/corpus-$name/"
  clang++ "${flags[@]}" "$src/tests/fuzz/fuzz_$name.cpp" "$@" -o "$out/fuzz_$name"
}

build_target metrics_config "$src/config/netstacklat.yaml" \
  "$src/daemon/config/metrics_config.cpp" "$src/daemon/config/key_labels.cpp" \
  "$src/daemon/base/errors.cpp" "$src/daemon/config/yaml_util.cpp" \
  "$build/daemon/builtin_metrics_config.cpp" -lyaml-cpp -lre2
build_target web_config "$src/tests/fuzz/web-config-seed.yaml" \
  "$src/daemon/config/web_config.cpp" "$src/daemon/http/basic_auth.cpp" "$src/daemon/base/errors.cpp" \
  "$src/daemon/config/yaml_util.cpp" -lyaml-cpp -lcrypt -lssl -lcrypto
build_target http_request "$src/tests/fuzz/http-request-seed.txt" "$src/daemon/http/http_request.cpp"

cd "$out"
for name in metrics_config web_config http_request; do
  echo "== fuzz_$name, $seconds s"
  "./fuzz_$name" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -print_final_stats=1 "corpus-$name" 2>&1 | tail -n 25
done
