#!/usr/bin/env bash
# Builds the OCI image netstacklat-exporter:<version> from the project's own
# build with buildah (Debian's; no registry, no container run, no base
# image): the stripped binary, exactly the shared libraries it loads (ldd),
# the default config, and /etc/passwd and /etc/group for root and nobody.
# No shell, no package manager, no CA bundle: the daemon needs none of them
# (it serves, it never connects out). It runs as nobody (65534), with
# CAP_BPF and CAP_PERFMON as file capabilities. Writes an OCI archive and prints its
# path.
#
#   packaging/container/build-image.sh BINARY OUT_DIR
#
# Load it with `podman load -i FILE`, `kind load image-archive FILE`,
# `ctr -n k8s.io image import FILE`, or push it with
# `skopeo copy oci-archive:FILE docker://REGISTRY/netstacklat-exporter:VERSION`.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:?usage: $0 BINARY OUT_DIR}
out=$(mkdir -p "${2:?usage: $0 BINARY OUT_DIR}" && cd "$2" && pwd)
for tool in buildah setcap; do
  command -v $tool >/dev/null || { echo "build-image: $tool is not installed" >&2; exit 1; }
done

# "netstacklat-exporter, version 0.1.0 (revision: 31f8db9e7f9b)"
banner=$("$bin" --version)
version=$(sed -n 's/.*version \([^ ]*\) .*/\1/p' <<<"$banner")
revision=$(sed -n 's/.*revision: \([^)]*\)).*/\1/p' <<<"$banner")
[[ -n "$version" && -n "$revision" ]] || { echo "build-image: no version in '$banner'" >&2; exit 1; }

stage=$(mktemp -d /var/tmp/nstl-image.XXXXXX)
ctr=""
cleanup() {
  [[ -n "$ctr" ]] && buildah rm "$ctr" >/dev/null 2>&1
  rm -rf "$stage"
}
trap cleanup EXIT

root=$stage/root
install -D -m 0755 "$bin" "$root/usr/bin/netstacklat-exporter"
strip --strip-unneeded "$root/usr/bin/netstacklat-exporter"
# The image runs as nobody: CAP_BPF and CAP_PERFMON come from the binary's
# file capabilities (kept in the layer as an xattr). A runtime gives a
# non-root process the capabilities the pod adds in its permitted set until
# exec, and the kernel keeps at exec only those the file names and that set
# holds, no_new_privs or not: no uid 0 and nothing beyond the pod's "add".
setcap cap_bpf,cap_perfmon+ep "$root/usr/bin/netstacklat-exporter"
# The libraries at the paths the dynamic loader looks them up by (the
# loader itself at the binary's PT_INTERP path).
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
install -D -m 0644 "$src/config/netstacklat-exporter.yaml" \
  "$root/etc/netstacklat-exporter/netstacklat-exporter.yaml"
install -D -m 0644 "$src/config/netstacklat.yaml" "$root/etc/netstacklat-exporter/netstacklat.yaml"
printf 'root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/:/nonexistent\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
# Mount points the runtime fills (the root file system is read-only).
mkdir -p "$root"/{proc,sys,dev,tmp}
chmod 1777 "$root/tmp"

image="netstacklat-exporter:$version"
ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$root" / >/dev/null
# The DaemonSet's args complete the entrypoint (listen address, log style).
buildah config \
  --entrypoint '["/usr/bin/netstacklat-exporter", "--config.file=/etc/netstacklat-exporter/netstacklat-exporter.yaml"]' \
  --cmd '[]' --user 65534:65534 --workingdir / --port 9661/tcp \
  --label org.opencontainers.image.title=netstacklat-exporter \
  --label org.opencontainers.image.description="Network stack latency of received packets, for Prometheus (eBPF)" \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.source="https://github.com/netstacklat-exporter/netstacklat-exporter" \
  --label org.opencontainers.image.licenses=GPL-2.0-or-later \
  "$ctr"
archive="$out/netstacklat-exporter-$version.oci.tar"
rm -f "$archive"
buildah commit --quiet --format oci --rm "$ctr" "oci-archive:$archive:$image" >/dev/null
ctr=""
echo "$archive"
