#!/usr/bin/env bash
# Builds the Debian package netstacklat-exporter_<version>_<arch>.deb with
# dpkg-buildpackage (debhelper: shlibs Depends, conffiles, systemd scripts,
# man page compression) from the committed tree plus uncommitted changes,
# and writes it to OUT_DIR (default: ./build-deb). Prints the .deb's path.
#
#   packaging/build-deb.sh [OUT_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/build-deb}" && cd "${1:-$src/build-deb}" && pwd)
work=$(mktemp -d /var/tmp/nstl-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

# dpkg-buildpackage wants debian/ at the top of the source tree.
tree="$work/netstacklat-exporter"
mkdir -p "$tree"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tree")
cp -r "$src/packaging/debian" "$tree/debian"
(cd "$tree" && dpkg-buildpackage -b -us -uc --no-sign >"$work/build.log" 2>&1) || {
  tail -n 60 "$work/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed" >&2
  exit 1
}
deb=$(ls "$work"/netstacklat-exporter_*.deb)
cp "$deb" "$out/"
echo "$out/$(basename "$deb")"
