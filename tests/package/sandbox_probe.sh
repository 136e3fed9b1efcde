#!/bin/sh
# Run by the systemd test (systemd_test.py) as a oneshot unit inside the
# booted container, once with no sandbox, once with the shipped unit's
# directives, once with each directive alone. Each line says whether one
# action that a directive should refuse was allowed here:
#   probe <action> ALLOWED|REFUSED
# Only the shell, coreutils, util-linux and perl-base (Essential packages)
# are used, so it runs on a minimal Debian root.
try() {
  name=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "probe $name ALLOWED"; else echo "probe $name REFUSED"; fi
}
status() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status; }
# syscall(NR, args...) in perl; succeeds if the kernel did not say EPERM.
# (numbers, not strings: perl passes a string as a pointer)
sys() { perl -e '@a = map { $_ + 0 } @ARGV; $r = syscall($a[0], @a[1 .. $#a]);
  exit(($r == -1 && $!{EPERM}) ? 1 : 0)' "$@"; }

try write-usr sh -c 'touch /usr/.nstl-probe && rm /usr/.nstl-probe'
try write-etc sh -c 'touch /etc/.nstl-probe && rm /etc/.nstl-probe'
try write-var sh -c 'touch /var/.nstl-probe && rm /var/.nstl-probe'
try see-home-files test -e /root/.nstl-probe-marker
try see-shared-tmp test -e /tmp/.nstl-probe-marker
try mknod sh -c 'mknod /tmp/.nstl-probe-null c 1 3 && rm /tmp/.nstl-probe-null'
try see-dev-console test -e /dev/console
try open-dev-tun sh -c 'exec 3<>/dev/net/tun'
try see-shared-ipc sh -c 'ipcs -q | grep -q "^0x"'
try see-modules test -e /usr/lib/modules/nstl-probe-marker
try read-proc-kmsg test -r /proc/kmsg
try syslog-syscall sys 103 10 0 0
try write-cgroupfs sh -c 'mkdir /sys/fs/cgroup/nstl-probe && rmdir /sys/fs/cgroup/nstl-probe'
try adjtimex perl -e '$b = "\0" x 208; exit(syscall(159, $b) == -1 ? 1 : 0)'
try set-hostname sh -c 'hostname "$(hostname)"'
try see-pid1 test -e /proc/1/status
try read-shadow head -c 1 /etc/shadow
try signal-root-process sh -c 'kill -0 1'
try see-other-users sh -c 'for d in /proc/[0-9]*; do [ "$(stat -c %U "$d")" = nobody ] && exit 0; done; exit 1'
try see-proc-cpuinfo test -e /proc/cpuinfo
try write-proc-sys sh -c 'cat /proc/sys/kernel/domainname > /proc/sys/kernel/domainname'
try nonzero-umask test "$(status Umask)" != 0077
try no-new-privs-unset test "$(status NoNewPrivs)" = 0
try cap-sys-admin-bounding test $(( (0x$(status CapBnd) >> 21) & 1 )) = 1
try netlink-socket perl -e 'use Socket; socket(S, 16, 3, 0) or exit 1'
try packet-socket perl -e 'use Socket; socket(S, 17, 3, 0) or exit 1'
try clear-noroot-securebit setpriv --securebits -noroot true
try user-namespace unshare -U true
try realtime chrt -f 1 true
try setuid-bit sh -c 'f=/tmp/.nstl-probe-suid; touch $f && chmod u+s $f; r=$?; rm -f $f; exit $r'
try personality setarch linux32 true
try write-exec-memory perl -e '$r = syscall(9, 0, 4096, 7, 0x22, -1, 0); exit($r == -1 ? 1 : 0)'
try ptrace-traceme sys 101 0 0 0 0
try mount-syscall sys 165 0 0 0 0 0
try x32-syscall perl -e 'exit(syscall(0x40000027) > 0 ? 0 : 1)'
