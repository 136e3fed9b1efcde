#!/usr/bin/env bash
# Installs, from Debian 12's archive, what building (and with --test, testing)
# netstacklat-exporter needs. Idempotent; runs apt-get update only when a
# package is missing. As root, or through sudo (packaging/as-root.sh).
# --test also unpacks, without installing them, the kernels the VM tests
# boot and the Prometheus server the e2e tests start, into
# /var/cache/netstacklat-tests: no boot entry, user or service is added.
set -euo pipefail

build=(cmake make g++ clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
       prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libsystemd-dev
       libssl-dev libcrypt-dev libprotobuf-dev protobuf-compiler libre2-dev git)
test=(catch2 clang-format python3 curl
      # the test scripts' formatter and linter (python_lint)
      python3-autopep8 flake8 openssl iproute2 util-linux wrk iperf3 sockperf
      libclang-rt-14-dev
      # building and checking the Debian package
      debhelper lintian dpkg-dev systemd
      # a copy of the package this machine had, saved and put back by package_deb
      dpkg-repack
      # the package on a fresh root file system, and the OCI image: built
      # with buildah, run with runc under containerd's default seccomp
      # profile (made by containerd's own Go code) and containers-common's
      mmdebstrap buildah libcap2-bin python3-yaml runc golang-go
      golang-github-containerd-containerd-dev golang-github-containers-common
      # the .deb under a real systemd as PID 1 (systemd-nspawn --boot)
      systemd-container
      # a strict OpenMetrics parser for the exemplar test
      python3-prometheus-client
      # an independent decoder of the protobuf exposition
      python3-protobuf
      # Debian's kernels booted under QEMU for the fentry end-to-end tests
      # (the kernels themselves and the Prometheus server are unpacked into
      # the tests' cache, not installed: tests/vm/unpack-test-packages.sh)
      qemu-system-x86 busybox-static cpio xz-utils zstd kmod)

want=("${build[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test[@]}")

here=$(cd "$(dirname "$0")" && pwd)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The Kubernetes manifests' schema check runs on Node.js with npm packages
# (tests/kubernetes/package.json). A Node.js the machine already has (as
# nodejs from NodeSource, which bundles npm and conflicts with Debian's npm)
# is used as it is.
if [[ "${1:-}" == "--test" ]] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  "$here/as-root.sh" apt-get update -qq
  "$here/as-root.sh" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ "${1:-}" == "--test" ]]; then
  "$here/as-root.sh" "$here/../tests/vm/unpack-test-packages.sh"
fi
