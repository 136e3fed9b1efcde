# Sourced: where the tests keep what they make or unpack outside the
# repository (root file systems, kernels, Prometheus). The Python side
# (tests/e2e/harness.py) reads the same variable with the same default.
NSTL_TEST_CACHE=${NSTL_TEST_CACHE:-/var/cache/netstacklat-tests}

# The unpacked linux-image package of a kernel release.
kernel_root() { echo "$NSTL_TEST_CACHE/kernels/$1"; }
# The unpacked prometheus package (usr/bin/prometheus, usr/bin/promtool).
prometheus_root() { echo "$NSTL_TEST_CACHE/prometheus"; }
