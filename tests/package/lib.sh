# Shell helpers of the package tests (sourced).

# PASS/FAIL/SKIPPED as every test reports them (a skip under CI=true fails).
skip() {
  [[ "${CI:-}" == "true" ]] && { echo "FAIL: would skip under CI: $*"; exit 1; }
  echo "SKIPPED: $*"; exit 77
}
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_for_metrics URL [CURL_ARGS...]: prints the first complete scrape (one
# that carries the hooks' status), or fails after 30 s. Ready is a complete
# scrape, not the first answer: the daemon answers 503 while it attaches.
wait_for_metrics() {
  local url=$1 body; shift
  for _ in $(seq 150); do
    # Into a variable first: with pipefail, grep -q closing the pipe early
    # would fail curl (SIGPIPE) and so the check.
    body=$(curl -sf "$@" "$url" 2>/dev/null) || body=""
    if grep -q 'hook_attached{hook="tcp-start"' <<<"$body"; then
      printf '%s\n' "$body"
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# base_rootfs CACHE: prints the path of a tar of Debian 12 with apt and
# nothing else (mmdebstrap --variant=apt: Essential + apt), made when missing
# or older than 7 days; the fresh machines of the package tests start from it.
base_rootfs() {
  local cache=$1 base=$1/bookworm-apt.tar start=$SECONDS
  mkdir -p "$cache"
  if [[ ! -s "$base" ]] || [[ -n $(find "$base" -mtime +7) ]]; then
    echo "making the base root file system (mmdebstrap --variant=apt bookworm)" >&2
    rm -rf "$base" "$cache/partial.tar"
    mmdebstrap --quiet --variant=apt --format=tar bookworm "$cache/partial.tar" >&2 || return 1
    mv "$cache/partial.tar" "$base"
    echo "ok: base root file system made in $((SECONDS - start)) s ($(du -m "$base" | cut -f1) MB)" >&2
  else
    echo "ok: base root file system from the cache ($base, $(du -m "$base" | cut -f1) MB)" >&2
  fi
  echo "$base"
}

# unpack_rootfs BASE ROOT: BASE unpacked into ROOT, with this machine's apt
# setup (sources, and options such as a snapshot's validity), so that apt
# inside reaches the same archive, and its resolver.
unpack_rootfs() {
  tar -C "$2" -xf "$1"
  cp -a /etc/apt/sources.list.d /etc/apt/apt.conf.d "$2/etc/apt/"
  if [[ -e /etc/apt/sources.list ]]; then cp -a /etc/apt/sources.list "$2/etc/apt/"; fi
  cp -L /etc/resolv.conf "$2/etc/resolv.conf"
}

# exec_in_root ROOT CMD...: CMD chrooted into ROOT, with /proc, /sys and /dev
# mounted in a private mount namespace (gone when CMD ends). exec all the way
# down, so that `(exec_in_root ROOT CMD) &` gives CMD's pid in $!.
# With APT_OVERLAY set (an empty directory), ROOT's apt sees the packages
# this machine already downloaded, through an overlay on its
# /var/cache/apt/archives whose changes stay in APT_OVERLAY: the same
# packages from the same archive, fetched once per machine.
exec_in_root() {
  local root=$1; shift
  exec unshare --mount --propagation private sh -c '
    root=$0 overlay=$1; shift
    if [ -n "$overlay" ]; then
      mkdir -p "$overlay/upper" "$overlay/work" &&
        mount -t overlay overlay -o "lowerdir=/var/cache/apt/archives,upperdir=$overlay/upper,workdir=$overlay/work" \
          "$root/var/cache/apt/archives" || exit 1
    fi
    mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" &&
      mount --rbind /dev "$root/dev" && exec chroot "$root" "$@"' "$root" "${APT_OVERLAY:-}" "$@"
}
