// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel where fentry/fexit cannot be used, made from one where they can:
 * a BPF-LSM program on the bpf() syscall's hook refuses to load any
 * fentry, fexit or fmod_ret program with EPERM, which is what this
 * project's own build machines do (a policy of their kernel), and what a
 * host without BPF trampolines (arm64 before Linux 6.0) comes to. The VM
 * test boots Debian's 5.10 with the bpf LSM on (lsm=bpf) and loads this
 * (tests/e2e/refuse_fentry.cpp) before the daemon, so that the daemon
 * takes its tracepoint alternatives on the oldest kernel it supports:
 * nothing else loads them there.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

/* Loads refused so far: the test checks that the daemon met the policy. */
__u64 refused = 0;

SEC("lsm/bpf")
int BPF_PROG(refuse_fentry, int cmd, union bpf_attr *attr, unsigned int size,
	     int ret)
{
	__u32 type;

	if (ret || cmd != BPF_PROG_LOAD ||
	    attr->prog_type != BPF_PROG_TYPE_TRACING)
		return ret;
	type = attr->expected_attach_type;
	if (type != BPF_TRACE_FENTRY && type != BPF_TRACE_FEXIT &&
	    type != BPF_MODIFY_RETURN)
		return 0;
	__sync_fetch_and_add(&refused, 1);
	return -EPERM;
}
