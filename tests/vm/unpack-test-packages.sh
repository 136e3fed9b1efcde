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

# suite_apt SUITE: apt options reading only SUITE (Debian's archive), with
# lists of the cache's own: the host's sources and state stay untouched.
suite_apt() {
  local dir=$NSTL_TEST_CACHE/apt/$1 archive=debian
  [[ "$1" == *-security ]] && archive=debian-security
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb http://deb.debian.org/$archive $1 main" >"$dir/sources.list"
  chown -R _apt "$dir/lists" 2>/dev/null || true
  echo "-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/dev/null" \
    "-o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache"
}

# download PACKAGE [SUITE]: the .deb's path in the cache, downloaded when
# missing (from SUITE if given, else from the host's sources).
download() {
  local deb opts=""
  deb=$(ls "$NSTL_TEST_CACHE/debs/$1"_*.deb 2>/dev/null | head -n 1 || true)
  if [[ -z "$deb" ]]; then
    echo "unpack-test-packages: downloading $1${2:+ from $2}" >&2
    [[ -z "${2:-}" ]] || opts=$(suite_apt "$2")
    # A suite's private lists start empty: read them first, not after a
    # failed download has printed "Unable to locate package".
    # shellcheck disable=SC2086 # opts is a list of words
    if [[ -n "${2:-}" && -z "$(find "$NSTL_TEST_CACHE/apt/$2/lists" -maxdepth 1 -name '*_Packages*' -print -quit)" ]]; then
      apt-get $opts update -qq >&2
    fi
    # shellcheck disable=SC2086
    (cd "$NSTL_TEST_CACHE/debs" && apt-get $opts download -qq "$1" >&2) ||
      { apt-get $opts update -qq >&2 &&
        (cd "$NSTL_TEST_CACHE/debs" && apt-get $opts download -qq "$1" >&2); }
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

while read -r name release suite; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  unpack "$(download "linux-image-$release" "$suite")" "$(kernel_root "$release")" "$release"
done <"$here/kernels.txt"
unpack "$(download prometheus)" "$(prometheus_root)"
