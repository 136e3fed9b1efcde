#!/usr/bin/env bash
# The .deb on a truly fresh Debian 12: a minimal root file system made with
# mmdebstrap (the machine's own apt sources; no mirror named here), the
# package installed into it with `apt-get install ./netstacklat-exporter_*.deb`
# so that apt pulls every dependency from the archive, then, chrooted (with
# /proc, /sys (BTF, bpffs) and /dev bound in a private mount namespace):
# --config.check on the shipped files, the installed binary run as the unit
# runs it (its ExecStart, /etc/default, root with only CAP_BPF and
# CAP_PERFMON), live histograms scraped, SIGTERM, purge, and nothing the
# package installed left behind.
#
#   tests/package/fresh_machine_test.sh OUT_DIR
# Installs the .deb that package_test.sh left in OUT_DIR (ctest runs that
# first), or builds one there.
# The base root file system is cached in $NSTL_ROOTFS_CACHE (default
# /var/cache/netstacklat-tests) and rebuilt when older than 7 days.
# Exit 77 (skipped) without root or mmdebstrap, except under CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:?usage: $0 OUT_DIR}" && cd "$1" && pwd)
SECONDS=0

# shellcheck source=tests/package/lib.sh
source "$here/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (chroot, mounts, BPF)"
command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed (packaging/install-deps.sh --test)"

# The base: Debian 12 with apt and nothing else, cached outside the
# repository.
base=$(base_rootfs "${NSTL_ROOTFS_CACHE:-/var/cache/netstacklat-tests}") || fail "mmdebstrap"

deb=$(ls -t "$out"/netstacklat-exporter_*.deb 2>/dev/null | head -n 1 || true)
if [[ -z "$deb" ]]; then
  deb=$("$src/packaging/build-deb.sh" "$out" | tail -n 1)
  ok "built $(basename "$deb")"
else
  ok "the package: $deb (built $(date -r "$deb" '+%F %T'))"
fi
mkdir -p "$out/fresh"

root=$(mktemp -d /var/tmp/nstl-fresh.XXXXXX)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
unpack_rootfs "$base" "$root"
cp "$deb" "$root/tmp/"

# in_root CMD...: CMD in the fresh system (lib.sh's exec_in_root).
in_root() { (exec_in_root "$root" "$@"); }

before=$(in_root sh -c 'dpkg-query -W -f "\${Package}\n" | sort')
in_root sh -c 'cat /etc/passwd /etc/group' >"$out/fresh/ids-before"
SECONDS=0
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends /tmp/'"$(basename "$deb")" \
  >"$out/fresh/apt.log" 2>&1 || fail "apt-get install: $(tail -n 20 "$out/fresh/apt.log")"
install_time=$SECONDS
after=$(in_root sh -c 'dpkg-query -W -f "\${Package}\n" | sort')
pulled=$(comm -13 <(echo "$before") <(echo "$after") | grep -vx netstacklat-exporter || true)
ok "apt-get install ./$(basename "$deb") on a fresh system: ${install_time} s (apt-get update included), $(wc -l <<<"$pulled") packages pulled in:"
echo "$pulled" | tr '\n' ' '; echo

# What the package installed (files, not the directories it shares).
installed=$(in_root dpkg -L netstacklat-exporter)
conf=/etc/netstacklat-exporter/netstacklat-exporter.yaml
in_root /usr/bin/netstacklat-exporter --config.file=$conf --config.check ||
  fail "--config.check rejects the shipped config on a fresh system"
ok "--config.check accepts the shipped config files"

# The unit's ExecStart, with its EnvironmentFile's $OPTIONS, as root with
# only the unit's capability bounding set (CAP_BPF CAP_PERFMON).
unit=/lib/systemd/system/netstacklat-exporter.service
exec_start=$(sed -n 's/^ExecStart=//p' "$root$unit")
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$root$unit" | tr 'A-Z ' 'a-z,' |
  sed 's/cap_/+/g')
[[ "$caps" == "+bpf,+perfmon" ]] || fail "unexpected CapabilityBoundingSet in the unit: $caps"
port=$(free_port)
(exec_in_root "$root" sh -c '. /etc/default/netstacklat-exporter; exec setpriv --bounding-set=-all,'"$caps"' \
  --inh-caps=-all '"$exec_start"' --web.listen-address=127.0.0.1:'"$port") \
  >"$out/fresh/daemon.log" 2>&1 &
pid=$!
metrics=$(wait_for_metrics "http://127.0.0.1:$port/metrics") ||
  fail "the installed daemon never served its metrics: $(cat "$out/fresh/daemon.log")"
curl -s "http://127.0.0.1:$port/" >/dev/null  # traffic on loopback
metrics=$(wait_for_metrics "http://127.0.0.1:$port/metrics")
# (comm is cut to 15 characters)
[[ $(cat "/proc/$pid/comm") == netstacklat-exp* ]] || fail "\$! is not the daemon's pid"
grep -q '^ebpf_exporter_netstack_latency_seconds_count{.*hook="tcp-socket-read"} [1-9]' \
  <<<"$metrics" || fail "no live tcp-socket-read histogram: $(cat "$out/fresh/daemon.log")"
grep '^ebpf_exporter_netstack_latency_seconds_count' <<<"$metrics"
kill -TERM "$pid"
wait "$pid" || fail "the installed daemon did not exit 0 on SIGTERM"
pid=""
ok "the installed daemon (ExecStart, CAP_BPF+CAP_PERFMON only) served live histograms and stopped"

in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq netstacklat-exporter' \
  >>"$out/fresh/apt.log" 2>&1 || fail "apt-get purge"
left=()
while read -r f; do
  [[ -z "$f" || "$f" == /. ]] && continue
  # Directories other packages own too (/usr/bin, /etc) stay, as they should.
  if [[ -d "$root$f" ]]; then  # (also /lib, a symlink to usr/lib)
    [[ -z $(ls -A "$root$f") ]] && continue
    [[ "$f" == */netstacklat-exporter ]] && left+=("$f")
    continue
  fi
  [[ -e "$root$f" || -L "$root$f" ]] && left+=("$f")
done <<<"$installed"
[[ -d "$root/etc/netstacklat-exporter" ]] && left+=(/etc/netstacklat-exporter)
((${#left[@]} == 0)) || fail "left after purge: ${left[*]}"
# Users and groups: the unit's system user stays after a purge, as Debian
# does for every system user (files it owned may outlive the package; a
# reused uid would inherit them), and so do those of systemd when the
# install pulled it in (systemd-sysusers creates ours). Nothing else.
changed=$(in_root sh -c 'cat /etc/passwd /etc/group' | diff "$out/fresh/ids-before" - |
  grep '^[<>]' || true)
others=$(grep -v -e '^> netstacklat-exporter:' -e '^> systemd-[a-z-]*:' <<<"$changed" || true)
[[ -z "$others" ]] || fail "users or groups changed by install + purge: $others"
grep -q '^> netstacklat-exporter:x:[1-9][0-9]*:[1-9][0-9]*:.*:/nonexistent:/usr/sbin/nologin$' \
  <<<"$changed" || fail "no system user netstacklat-exporter (no login) after install: $changed"
ok "purge removed all $(wc -l <<<"$installed") paths the package installed; users and groups: only the system user netstacklat-exporter (kept, as Debian keeps system users) and systemd's"
echo PASS
