#!/usr/bin/env bash
# Runs a command as root inside one of Debian's stock kernels booted under
# QEMU, with this machine's root file system shared read-only, and exits
# with the command's exit code. This is how the end-to-end tests reach
# kernels where fentry/fexit work (the way libbpf's vmtest and virtme-ng
# test BPF against real kernels).
#
#   tests/vm/run_in_vm.sh --kernel NAME CMD [ARGS...]
#
# NAME is a line of tests/vm/kernels.txt (debian-6.1, debian-6.12,
# debian-6.12-rt), which pins its release: a test names its kernel, so
# installing another kernel never changes what a test runs on.
# Env: NSTL_VM_TIMEOUT (seconds, default 600), NSTL_VM_CPUS (vCPUs, default 1),
#      NSTL_VM_KEEP=1 keeps the work dir, NSTL_VM_APPEND adds kernel
#      command-line arguments (lsm=bpf: the BPF LSM, which Debian's 5.10
#      builds but does not turn on).
# Exit 77 (skipped) when that kernel or QEMU is not installed, except under
# CI=true, where that is a failure.
set -euo pipefail

SKIP=77
skip() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: would skip under CI, where the VM test must run: $*"
    exit 1
  fi
  echo "SKIPPED: $*"
  exit $SKIP
}

usage() { echo "usage: $0 --kernel NAME CMD [ARGS...] (NAME from tests/vm/kernels.txt)" >&2; exit 2; }
[[ "${1:-}" == --kernel && $# -ge 3 ]] || usage
name=$2
shift 2
release=$(awk -v n="$name" '$1 == n {print $2}' "$(dirname "$0")/kernels.txt")
[[ -n "$release" ]] || { echo "run_in_vm.sh: no kernel named '$name' in kernels.txt" >&2; exit 2; }
# The kernel package is unpacked in the tests' cache, never installed: a
# test kernel must not become the host's next boot.
# shellcheck source=tests/vm/test-cache.sh
source "$(dirname "$0")/test-cache.sh"
kroot=$(kernel_root "$release")
kernel=$kroot/boot/vmlinuz-$release
[[ -r "$kernel" ]] ||
  skip "kernel $name ($kernel) not unpacked: packaging/install-deps.sh --test (tests/vm/unpack-test-packages.sh)"
version=$release
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
busybox=/bin/busybox  # busybox-static's: the initramfs has no libc
[[ -x "$busybox" ]] || skip "static busybox not installed (busybox-static)"
[[ $(id -u) -eq 0 ]] || skip "needs root (QEMU shares / with the guest, which runs as root)"

work=$(mktemp -d /var/tmp/nstl-vm.XXXXXX)
[[ "${NSTL_VM_KEEP:-}" == 1 ]] || trap 'rm -rf "$work"' EXIT
root="$work/initramfs"
mkdir -p "$root"/{bin,dev,proc,sys,mnt,modules}
cp "$busybox" "$root/bin/busybox"

# The 9p and virtio modules (and veth, netem, tun and tc ingress/u32/mirred for
# tests between namespaces), in
# dependency order, decompressed.
: >"$root/modules/order"
for mod in virtio_pci 9pnet_virtio 9p veth sch_netem tun sch_ingress cls_u32 act_mirred; do
  modprobe -d "$kroot" -S "$version" --show-depends "$mod" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  name=$(basename "$ko")
  case "$ko" in
    *.xz) xz -dc "$ko" >"$root/modules/${name%.xz}"; name=${name%.xz} ;;
    *.zst) zstd -qdc "$ko" >"$root/modules/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$ko" "$root/modules/$name" ;;
  esac
  echo "$name" >>"$root/modules/order"
done

# The command, quoted, run from the current directory in the host's root.
{
  printf 'cd %q || exit 1\n' "$PWD"
  printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root'
  printf ' TMPDIR=/dev/shm CI=%q\n' "${CI:-}"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$root/cmd.sh"

# Where the guest finds its kernel's modules (the unpacked package, on the
# shared root), so that the kernel's module autoload works as on a host
# where that kernel is installed.
printf 'release=%q modules=%q\n' "$release" "$kroot/lib/modules/$release" >"$root/kernel.env"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m" || echo "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /mnt
for d in proc sys dev; do mount --bind "/$d" "/mnt/$d"; done
mount -t bpf bpf /mnt/sys/fs/bpf
mount -t tracefs tracefs /mnt/sys/kernel/tracing
# Scratch space; /tmp stays the host's (read-only), since the build tree
# may live there (CI clones into /tmp).
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /mnt/run  # ip netns, sockets
. /kernel.env
if [ -d /mnt/lib/modules ]; then
  mount -t tmpfs tmpfs /mnt/lib/modules && mkdir "/mnt/lib/modules/$release" &&
    mount --bind "/mnt$modules" "/mnt/lib/modules/$release"
else
  echo "no /lib/modules on the host: the guest loads no module on demand"
fi
ip link set lo up
echo "NSTL_VM_KERNEL=$(uname -r)"
# For tests that change what is the VM's alone (its clock).
export NSTL_IN_VM=1
chroot /mnt /bin/sh < /cmd.sh
echo "NSTL_VM_EXIT=$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

echo "booting $kernel under QEMU (TCG; fentry works in this kernel)"
log="$work/console.log"
set +e
timeout "${NSTL_VM_TIMEOUT:-600}" qemu-system-x86_64 \
  -accel tcg -cpu max -m 1G -smp "${NSTL_VM_CPUS:-1}" -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init ${NSTL_VM_APPEND:-}" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  </dev/null 2>&1 | tee "$log"
set -e
booted=$(sed -n 's/^NSTL_VM_KERNEL=\([^[:space:]]*\).*/\1/p' "$log" | head -n 1)
if [[ -n "$booted" && "$booted" != "$release" ]]; then
  echo "FAIL: the guest runs $booted, not $name's $release"
  exit 1
fi
code=$(sed -n 's/^NSTL_VM_EXIT=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [[ -z "$code" ]]; then
  echo "FAIL: the guest did not report an exit code (timeout or crash)"
  exit 1
fi
exit "$code"
