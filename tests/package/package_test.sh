#!/usr/bin/env bash
# The Debian package, as a new user meets it: build it, lintian it, install it
# with apt-get (which pulls its dependencies), validate the shipped config,
# verify the unit, run the installed binary the way the unit does, then purge
# it and check that nothing it installed is left. A copy this machine had
# installed is put back (dpkg-repack).
#
#   tests/package/package_test.sh OUT_DIR
# Exit 77 (skipped) without root, except under CI=true, where that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:?usage: $0 OUT_DIR}

if [[ $(id -u) -ne 0 ]]; then
  [[ "${CI:-}" == "true" ]] && { echo "FAIL: would skip under CI: needs root"; exit 1; }
  echo "SKIPPED: needs root (installs and purges a package)"; exit 77
fi
# shellcheck source=tests/package/lib.sh
source "$here/lib.sh"

rm -f "$out"/netstacklat-exporter_*.deb  # the fresh-machine test installs what is left here
deb=$("$src/packaging/build-deb.sh" "$out" | tail -n 1)
ok "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Package Version Depends

# lintian: no errors (E:); warnings and info are printed for the record.
lint=$(lintian --fail-on none --no-tag-display-limit "$deb" 2>&1 || true)
[[ -n "$lint" ]] && echo "$lint"
grep -q '^E:' <<<"$lint" && fail "lintian reports errors"
ok "lintian: no errors"

# What this machine had: a netstacklat-exporter installed before this test
# is repacked as it is (dpkg-repack: its files and conffiles as they are
# now), and put back afterwards, enabled and running if it was.
had=$(dpkg-query -W -f '${db:Status-Abbrev}' netstacklat-exporter 2>/dev/null || true)
saved=""
if [[ "$had" == ?i* ]]; then
  saved_dir=$(mktemp -d /var/tmp/nstl-saved.XXXXXX)
  (cd "$saved_dir" && dpkg-repack netstacklat-exporter >/dev/null) ||
    fail "netstacklat-exporter is installed here and could not be saved (dpkg-repack)"
  saved=$(ls "$saved_dir"/netstacklat-exporter_*.deb)
  was_enabled=$(systemctl is-enabled netstacklat-exporter 2>/dev/null || true)
  was_active=$(systemctl is-active netstacklat-exporter 2>/dev/null || true)
  ok "the installed netstacklat-exporter saved as $saved (put back at the end)"
fi
restore() {
  [[ -n "$saved" ]] || return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades "$saved" >/dev/null
  if [[ "$was_enabled" == enabled ]]; then systemctl enable netstacklat-exporter 2>/dev/null || true; fi
  if [[ "$was_active" == active ]]; then systemctl start netstacklat-exporter 2>/dev/null || true; fi
  echo "restored: the netstacklat-exporter this machine had ($(basename "$saved"))"
  rm -rf "$saved_dir"
}

# On any exit: no daemon of ours left running (a failed check must not leave
# BPF programs attached for the next test), the package purged, and what the
# machine had put back.
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  apt-get purge -y -qq netstacklat-exporter >/dev/null 2>&1 || true
  restore
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
ok "apt-get install $(basename "$deb")"

files=(/usr/bin/netstacklat-exporter /etc/netstacklat-exporter/netstacklat.yaml
       /etc/netstacklat-exporter/netstacklat-exporter.yaml
       /etc/default/netstacklat-exporter /lib/systemd/system/netstacklat-exporter.service
       /usr/share/man/man8/netstacklat-exporter.8.gz
       /usr/share/netstacklat-exporter/netstacklat-dashboard.json
       /usr/share/netstacklat-exporter/netstacklat-rules.yml)
for f in "${files[@]}"; do [[ -e "$f" ]] || fail "missing after install: $f"; done
ok "installed files in place"
for c in netstacklat.yaml netstacklat-exporter.yaml; do
  dpkg-query -W -f='${Conffiles}\n' netstacklat-exporter | grep -q "/etc/netstacklat-exporter/$c " ||
    fail "$c is not a conffile"
done
ok "config is a conffile"

conf=/etc/netstacklat-exporter/netstacklat-exporter.yaml
/usr/bin/netstacklat-exporter --config.file=$conf --config.check ||
  fail "--config.check rejects the shipped config"
ok "--config.check accepts the shipped config files"

systemd-analyze verify /lib/systemd/system/netstacklat-exporter.service || fail "systemd-analyze verify"
ok "systemd-analyze verify"
score=$(systemd-analyze security --offline=true /lib/systemd/system/netstacklat-exporter.service 2>&1 |
  sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security --offline=true: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }' || fail "exposure $score > 2.5"
ok "exposure score $score <= 2.5"

# Run the installed binary as the unit does: its ExecStart and /etc/default.
# shellcheck disable=SC1091
source /etc/default/netstacklat-exporter
port=$(free_port)
/usr/bin/netstacklat-exporter --config.file=$conf \
  $OPTIONS --web.listen-address=127.0.0.1:$port >"$out/installed-daemon.log" 2>&1 &
pid=$!
wait_for_metrics "http://127.0.0.1:$port/metrics" >/dev/null ||
  fail "installed daemon never served its metrics: $(cat "$out/installed-daemon.log")"
curl -s "http://127.0.0.1:$port/" >/dev/null  # some traffic on loopback
metrics=$(wait_for_metrics "http://127.0.0.1:$port/metrics") ||
  fail "installed daemon does not serve /metrics"
kill -TERM $pid; wait $pid || fail "installed daemon did not exit 0 on SIGTERM"
grep -q 'netstacklat_exporter_hook_attached{hook="tcp-start",attach_point="tp_btf/tcp_probe"} 1\|netstacklat_exporter_hook_attached{hook="tcp-start",attach_point="fentry' <<<"$metrics" ||
  fail "installed daemon: tcp-start not attached: $(cat "$out/installed-daemon.log")"
grep -q '^ebpf_exporter_netstack_latency_seconds_count{' <<<"$metrics" || fail "installed daemon: no histogram"
ok "installed binary with the shipped config serves live histograms"

# TLS: OpenSSL is linked into the binary, so the runtime libssl3 suffices.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$out/tls.key" -out "$out/tls.crt" 2>/dev/null
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' "$out/tls.crt" "$out/tls.key" \
  >"$out/web.yml"
port=$(free_port)
/usr/bin/netstacklat-exporter --web.config.file="$out/web.yml" \
  --web.listen-address=127.0.0.1:$port >"$out/installed-tls.log" 2>&1 &
pid=$!
wait_for_metrics "https://127.0.0.1:$port/metrics" --cacert "$out/tls.crt" >/dev/null ||
  fail "installed daemon does not serve over TLS: $(cat "$out/installed-tls.log")"
kill -TERM $pid; wait $pid || fail "installed TLS daemon did not exit 0 on SIGTERM"
ok "installed binary serves /metrics over TLS"

apt-get purge -y -qq netstacklat-exporter >/dev/null
for f in "${files[@]}" /etc/netstacklat-exporter; do [[ ! -e "$f" ]] || fail "left after purge: $f"; done
ok "purge removed everything it installed"
echo PASS
