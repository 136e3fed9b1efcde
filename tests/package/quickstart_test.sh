#!/usr/bin/env bash
# The README's quick start, as written, on a bare Debian 12: a root file
# system with apt and nothing else (mmdebstrap --variant=apt: no sudo, no
# python3, no compiler), this source tree copied into it, then, chrooted
# (/proc, /sys with BTF and bpffs, /dev bound in; this machine's network):
#
#  1. as root, with no sudo installed: the run command, verbatim from
#     README.md, until the daemon it starts serves live histograms on
#     :9661; it must have built no test;
#  2. as a user with sudo (the one package the run command installs
#     removed first, so that it installs it through sudo): the same;
#  3. as root: the test command's install step, after which no kernel is
#     installed (none in /boot, no linux-image package: the VM tests'
#     kernels are unpacked into the tests' cache), no prometheus package,
#     user or service, and the unpacked kernels and Prometheus run.
#
# Prints the time of each step. The packages this machine already
# downloaded are seen through an overlay (the same packages from the same
# archive; what is downloaded inside stays inside).
#   tests/package/quickstart_test.sh
# Exit 77 (skipped) without root or mmdebstrap, except under CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

# shellcheck source=tests/package/lib.sh
source "$here/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (chroot, mounts, BPF)"
command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed (packaging/install-deps.sh --test)"

# The two commands, as the README writes them: the first and second shell
# block of its "Quick start".
readme_block() {
  awk -v want="$1" '/^## /{in_qs = ($0 == "## Quick start")}
    in_qs && /^```sh$/ {n++; inside = 1; next}
    inside && /^```$/ {inside = 0; next}
    inside && n == want' "$src/README.md"
}
run_cmd=$(readme_block 1)
test_cmd=$(readme_block 2)
[[ -n "$run_cmd" && $(wc -l <<<"$run_cmd") -eq 1 ]] || fail "no one-line run command in README's Quick start"
[[ -n "$test_cmd" && $(wc -l <<<"$test_cmd") -eq 1 ]] || fail "no one-line test command in README's Quick start"
install_step=${test_cmd%% && *}
grep -qxF "$test_cmd" "$src/.ci/run" || fail ".ci/run does not run the README's test command verbatim"
echo "run command:  $run_cmd"
echo "test install: $install_step"

port=9661  # the default the run command serves on
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  fail "port $port is taken on this machine: the run command's daemon could not listen"
fi

base=$(base_rootfs "${NSTL_ROOTFS_CACHE:-/var/cache/netstacklat-tests}") || fail "mmdebstrap"
work=$(mktemp -d /var/tmp/nstl-quickstart.XXXXXX)
root=$work/root
mkdir "$root"
cleanup() {
  local p
  for p in $(pids_in_root); do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
unpack_rootfs "$base" "$root"
export APT_OVERLAY=$work/apt-overlay
in_root() { (exec_in_root "$root" "$@"); }

# Processes whose root is the fresh system.
pids_in_root() {
  local p
  for p in /proc/[0-9]*; do
    if [[ "$(readlink "$p/root" 2>/dev/null)" == "$root" ]]; then echo "${p#/proc/}"; fi
  done
  return 0
}

# The source tree as a clone has it (tracked and untracked files, not what
# .gitignore names, such as build/).
mkdir -p "$root/src/netstacklat-exporter"
(cd "$src" && git ls-files -co --exclude-standard -z |
  xargs -0 cp --parents -t "$root/src/netstacklat-exporter")
if in_root sh -c 'command -v sudo || command -v python3 || command -v cc'; then
  fail "the base system is not bare"
fi

# run_as WHO LOG: the run command as WHO (root, or a user through a login
# shell), each step's start time traced into LOG, until the daemon serves
# live histograms; then the daemon is stopped. Prints each step's time.
run_as() {
  local who=$1 log=$2 body pid start=$SECONDS
  local traced="PS4='+[\$SECONDS] '; set -x; cd /src/netstacklat-exporter && $run_cmd"
  if [[ "$who" == root ]]; then
    (exec_in_root "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      bash -c "$traced") >"$log" 2>&1 &
  else
    (exec_in_root "$root" runuser -l "$who" -c "$traced") >"$log" 2>&1 &
  fi
  pid=$!
  until body=$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null) &&
      grep -q 'hook_attached{hook="tcp-start"' <<<"$body"; do
    kill -0 "$pid" 2>/dev/null || fail "the run command as $who ended without serving: $(tail -n 40 "$log")"
    ((SECONDS - start < 2400)) || fail "the run command as $who did not serve within 40 min: $(tail -n 20 "$log")"
    sleep 1
  done
  local served=$((SECONDS - start))
  curl -s "http://127.0.0.1:$port/" >/dev/null  # traffic on loopback
  sleep 1
  body=$(curl -sf "http://127.0.0.1:$port/metrics")
  grep -q '^ebpf_exporter_netstack_latency_seconds_count{.*hook="tcp-socket-read"} [1-9]' <<<"$body" ||
    fail "the daemon the run command started as $who counted no tcp-socket-read: $(tail -n 20 "$log")"
  local daemon
  daemon=$(for p in $(pids_in_root); do
    if [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == netstacklat-exp* ]]; then echo "$p"; fi
  done)
  [[ $(wc -w <<<"$daemon") -eq 1 ]] || fail "not one daemon in the fresh system: '$daemon'"
  [[ $(stat -c %u "/proc/$daemon") -eq 0 ]] || fail "the daemon does not run as root"
  kill -TERM "$daemon"
  wait "$pid" || true  # the daemon's SIGTERM exit ends the command
  [[ -d "$root/src/netstacklat-exporter/build/daemon" ]] || fail "no build/daemon"
  [[ ! -e "$root/src/netstacklat-exporter/build/tests" ]] ||
    fail "the run command built the test suite (build/tests exists)"
  ok "the run command as $who served live histograms on :$port after ${served} s, built no test; steps:"
  step_times "$log" "$served"
}

# step_times LOG END: each traced step of the chain with its duration (the
# last one until END, when the daemon served).
step_times() {
  sed -n 's/^+\[\([0-9]*\)\] \(.*\)$/\1 \2/p' "$1" | grep -v "^[0-9]* cd " |
    awk -v end="$2" '{t[NR] = $1; $1 = ""; c[NR] = $0}
      END {for (i = 1; i <= NR; i++) printf "  %5d s %s\n", (i < NR ? t[i+1] : end) - t[i], c[i]}'
}

# 1. root, no sudo.
run_as root "$work/run-root.log"

# 2. A user with sudo; the package the chain needs least (git) removed, so
# that install-deps installs it through sudo.
in_root sh -c 'apt-get install -y -qq --no-install-recommends sudo >/dev/null &&
  useradd -m -s /bin/bash quick && echo "quick ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/quick &&
  apt-get purge -y -qq git >/dev/null && chown -R quick: /src' >"$work/sudo-setup.log" 2>&1 ||
  fail "setting up a user with sudo: $(tail -n 20 "$work/sudo-setup.log")"
run_as quick "$work/run-user.log"
grep -q "install-deps: installing git" "$work/run-user.log" ||
  fail "install-deps did not install the missing git as the user: $(head -n 20 "$work/run-user.log")"
ok "as the user, install-deps installed what was missing through sudo"

# 3. The test command's install step, as root; what it must not change.
start=$SECONDS
in_root env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  bash -c "cd /src/netstacklat-exporter && $install_step" >"$work/test-install.log" 2>&1 ||
  fail "the test command's install step: $(tail -n 30 "$work/test-install.log")"
ok "the test command's install step: $((SECONDS - start)) s"
installed=$( (in_root dpkg-query -W -f '${db:Status-Abbrev}${Package}\n' 'linux-image-*' prometheus 2>/dev/null ||
  true) | awk '$1 ~ /^.i/ {print $2}')
[[ -z "$installed" ]] || fail "the test command installed $installed"
ls "$root"/boot/vmlinuz-* 2>/dev/null && fail "a kernel in the fresh system's /boot"
! grep -q '^prometheus:' "$root/etc/passwd" || fail "a prometheus user was added"
[[ ! -e "$root/etc/systemd/system/multi-user.target.wants/prometheus.service" ]] ||
  fail "a prometheus service was enabled"
ok "no kernel installed, no /boot/vmlinuz-*, no prometheus package, user or service"
while read -r name release _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  vmlinuz=/var/cache/netstacklat-tests/kernels/$release/boot/vmlinuz-$release
  [[ -s "$root$vmlinuz" ]] || fail "$name's kernel not unpacked at $vmlinuz"
  in_root modprobe -d "/var/cache/netstacklat-tests/kernels/$release" -S "$release" \
    --show-depends veth >/dev/null || fail "$name's modules not indexed"
done <"$src/tests/vm/kernels.txt"
version=$(in_root /var/cache/netstacklat-tests/prometheus/usr/bin/prometheus --version 2>&1 | head -n 1)
[[ "$version" == "prometheus, version"* ]] || fail "the unpacked prometheus does not run: $version"
ok "the VM tests' kernels unpacked and indexed; $version runs from the cache"
echo PASS
