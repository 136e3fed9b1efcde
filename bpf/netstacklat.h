/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ABI shared by the BPF program and the daemon: hook ids, the histogram
 * key and its bucket layout. Both clang -target bpf and g++ compile this file,
 * so it uses only fixed-width kernel types and plain C.
 */
#ifndef NETSTACKLAT_H
#define NETSTACKLAT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/*
 * Logical hooks. Ids 1..7 and their labels are upstream netstacklat's (and
 * its ebpf_exporter static_map), so dashboards keep working; 8 is ours.
 */
enum netstacklat_hook {
	NETSTACKLAT_HOOK_INVALID = 0,
	NETSTACKLAT_HOOK_IP_START = 1,
	NETSTACKLAT_HOOK_TCP_START = 2,
	NETSTACKLAT_HOOK_UDP_START = 3,
	NETSTACKLAT_HOOK_TCP_SOCK_ENQUEUED = 4,
	NETSTACKLAT_HOOK_UDP_SOCK_ENQUEUED = 5,
	NETSTACKLAT_HOOK_TCP_SOCK_READ = 6,
	NETSTACKLAT_HOOK_UDP_SOCK_READ = 7,
	NETSTACKLAT_HOOK_NETIF_RECEIVE = 8,
	NETSTACKLAT_HOOK_MAX, /* one past the last id */
};

/*
 * Buckets 0..HIST_MAX_BUCKET hold counts; bucket i holds latencies in
 * (2^(i-1), 2^i] ns (bucket 0 holds 0 and 1 ns). The slot after the last
 * bucket holds the running sum in ns (ebpf_exporter's "sum key").
 */
#define HIST_MAX_BUCKET 34
#define HIST_SUM_SLOT (HIST_MAX_BUCKET + 1)
#define HIST_NSLOTS (HIST_SUM_SLOT + 1)
/*
 * The slowest sample of one scrape interval on one CPU: an OpenMetrics
 * exemplar. Written only when a sample beats the one in hand; user space
 * reads the interval it just closed (the other of the two).
 */
struct nstl_exemplar {
	__u64 gen;	  /* exemplar_gen of the interval it belongs to */
	__u64 latency_ns; /* 0: none yet */
	__u64 tstamp_ns;  /* skb->tstamp, CLOCK_REALTIME */
	__u64 cgroup;	  /* socket reads: the reader's cgroup id */
	__u32 pid;	  /* socket reads: the reading process (tgid) */
	__u32 ifindex;	  /* 0: unknown */
	__u8 saddr[16];	  /* the packet's source; IPv4: the first 4 bytes */
	__u8 daddr[16];	  /* its destination */
	__u16 sport;	  /* host order; 0: none */
	__u16 dport;
	__u8 family;   /* AF_INET, AF_INET6; 0: no flow */
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad[2];
	char comm[16]; /* socket reads: the reading task */
	__u64 done;    /* == latency_ns once the record is complete */
};

/*
 * The slowest latency of the current interval so far, for the per-packet
 * compare, in one word beside the sum slot (which every sample writes, so
 * the common case reads no other line): the interval's low 16 bits above
 * the latency in ns (48 bits, 78 hours, saturated).
 */
#define EXEMPLAR_MAX_GEN_SHIFT 48
#define EXEMPLAR_MAX_NS_MASK ((1ULL << EXEMPLAR_MAX_GEN_SHIFT) - 1)

/* One hook's histogram: the value of the per-CPU array, indexed by hook. */
struct hook_hist {
	__u64 slots[HIST_NSLOTS];
	__u64 ex_max;
	/* By interval parity (exemplar_gen & 1): written only when a sample
	 * beats ex_max; user space reads the one of the interval it ended. */
	struct nstl_exemplar ex[2];
};

/* A struct hook_hist in u64 lanes, as user space reads it. */
#define HIST_VALUE_LANES (sizeof(struct hook_hist) / sizeof(__u64))
#define HIST_EXEMPLAR_LANES (sizeof(struct nstl_exemplar) / sizeof(__u64))
#define HIST_EXEMPLAR_LANE0                                                    \
	(__builtin_offsetof(struct hook_hist, ex) / sizeof(__u64))

/*
 * Map key, upstream's layout. ebpf_exporter splits the key into labels in
 * field order (cgroup, iface, hook) and takes the last field as the bucket,
 * so the order and sizes must not change.
 */
struct hist_key {
	__u64 cgroup;
	__u32 ifindex;
	__u16 hook;
	__u16 bucket;
};

/*
 * Filters and grouping, written by the daemon into the program's .bss.
 * The filter sets themselves are hash maps (netstacklat_pids, _ifindexes,
 * _cgroups); a flag here says whether a set is in force.
 */
struct netstacklat_config {
	__u64 netns_inum;     /* only this network namespace; 0: all */
	__u8 filter_pid;      /* socket-read hooks: only listed processes */
	__u8 filter_ifindex;  /* only listed interfaces */
	__u8 filter_cgroup;   /* socket-read hooks: only listed cgroups */
	__u8 groupby_ifindex; /* one histogram per interface */
	__u8 groupby_cgroup;  /* socket-read hooks: one per cgroup */
	__u8 include_tcp_hol; /* keep TCP reads that waited behind a hole */
	__u8 pad[2];
	/* socket-read hooks: only when this many skbs are queued (0: off) */
	__u32 min_sockqueue_len;
	__u32 pad2;
};

/* The bucket of a latency in ns: ceil(log2(v)) clamped to HIST_MAX_BUCKET. */
static inline __u32 hist_bucket_index(__u64 v)
{
	__u32 floor_log2 = 0;
	__u64 rest = v;

	/* Binary search for the top bit: 6 steps, no loop for the verifier. */
	if (rest >> 32) {
		floor_log2 += 32;
		rest >>= 32;
	}
	if (rest >> 16) {
		floor_log2 += 16;
		rest >>= 16;
	}
	if (rest >> 8) {
		floor_log2 += 8;
		rest >>= 8;
	}
	if (rest >> 4) {
		floor_log2 += 4;
		rest >>= 4;
	}
	if (rest >> 2) {
		floor_log2 += 2;
		rest >>= 2;
	}
	if (rest >> 1) {
		floor_log2 += 1;
	}

	/* Round up, so that bucket i is right-inclusive: v <= 2^i. */
	if (v > ((__u64)1 << floor_log2))
		floor_log2++;
	return floor_log2 > HIST_MAX_BUCKET ? HIST_MAX_BUCKET : floor_log2;
}

#endif /* NETSTACKLAT_H */
