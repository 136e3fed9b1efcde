#!/usr/bin/env bash
# Installs, from Debian 12's archive, what building (and with --test, testing)
# netstacklat-exporter needs. Idempotent; runs apt-get update only when a
# package is missing.
set -euo pipefail

build=(cmake make g++ clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
       prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libsystemd-dev
       libssl-dev libcrypt-dev libprotobuf-dev protobuf-compiler git)
test=(catch2 clang-format python3 prometheus curl openssl iproute2 util-linux wrk iperf3 sockperf
      libclang-rt-14-dev
      # building and checking the Debian package
      debhelper lintian dpkg-dev systemd
      # the package on a fresh root file system, and the OCI image
      mmdebstrap buildah podman python3-yaml
      # the .deb under a real systemd as PID 1 (systemd-nspawn --boot)
      systemd-container
      # a strict OpenMetrics parser for the exemplar test
      python3-prometheus-client
      # an independent decoder of the protobuf exposition
      python3-protobuf
      # Debian's kernels booted under QEMU for the fentry end-to-end tests:
      # the releases pinned in tests/vm/kernels.txt
      qemu-system-x86 busybox-static cpio xz-utils zstd kmod)
kernels=$(dirname "$0")/../tests/vm/kernels.txt
while read -r name release; do
  [[ -z "$name" || "$name" == \#* ]] || test+=("linux-image-$release")
done <"$kernels"

want=("${build[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
