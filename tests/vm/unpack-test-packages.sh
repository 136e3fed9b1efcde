#!/usr/bin/env bash
# Fetches the Debian packages the tests run but the host must not install,
# and unpacks them into the tests' cache instead: the kernels the VM tests
# boot (tests/vm/kernels.txt; installed, each would become a boot entry and
# the newest the next boot's default) and the Prometheus server the e2e
# tests start by hand (installed, it would add a user and an enabled
# service). `packaging/install-deps.sh --test` runs it; idempotent.
#
#   tests/vm/unpack-test-packages.sh     (root: writes $NSTL_TEST_CACHE)
#
# Layout: $NSTL_TEST_CACHE/debs/*.deb (as downloaded),
#         $NSTL_TEST_CACHE/kernels/<release>/{boot,lib/modules/<release>}
#           (with modules.dep, for modprobe -d),
#         $NSTL_TEST_CACHE/prometheus/usr/bin/{prometheus,promtool}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/test-cache.sh
source "$here/test-cache.sh"

mkdir -p "$NSTL_TEST_CACHE/debs" "$NSTL_TEST_CACHE/kernels"
# apt downloads as its unprivileged user where that user may write.
chown _apt "$NSTL_TEST_CACHE/debs" 2>/dev/null || true

# download PACKAGE: the .deb's path in the cache, downloaded when missing.
download() {
  local deb
  deb=$(ls "$NSTL_TEST_CACHE/debs/$1"_*.deb 2>/dev/null | head -n 1 || true)
  if [[ -z "$deb" ]]; then
    echo "unpack-test-packages: downloading $1" >&2
    (cd "$NSTL_TEST_CACHE/debs" && apt-get download -qq "$1" >&2) ||
      { apt-get update -qq >&2 && (cd "$NSTL_TEST_CACHE/debs" && apt-get download -qq "$1" >&2); }
    deb=$(ls "$NSTL_TEST_CACHE/debs/$1"_*.deb | head -n 1)
  fi
  echo "$deb"
}

# unpack DEB DIR [RELEASE]: DEB's files under DIR (complete or absent: made
# beside it, then renamed), and with RELEASE its modules' dependency index.
unpack() {
  [[ -d "$2" ]] && return 0
  rm -rf "$2.partial"
  dpkg-deb -x "$1" "$2.partial"
  [[ -z "${3:-}" ]] || depmod -b "$2.partial" "$3"
  mv "$2.partial" "$2"
  echo "unpack-test-packages: $(basename "$1") -> $2" >&2
}

while read -r name release; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  unpack "$(download "linux-image-$release")" "$(kernel_root "$release")" "$release"
done <"$here/kernels.txt"
unpack "$(download prometheus)" "$(prometheus_root)"
