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

/* One label set's classic histogram and exemplars: within struct hook_entry
 * (the per-CPU array's value, indexed by hook), or the grouped hash's value. */
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
 * A cgroup v2 directory created or removed, for user space to match
 * against ebpf_exporter's cgroup_id_map regexps (only with one). The path
 * is relative to the hierarchy's root ("/a/b"), at most the kernel's own
 * bound for tracepoint cgroup paths; only its len bytes (with the NUL) are
 * sent.
 */
#define NSTL_CGROUP_PATH_MAX 1024
enum nstl_cgroup_event_kind {
	NSTL_CGROUP_CREATED = 1,
	NSTL_CGROUP_REMOVED = 2,
};
struct nstl_cgroup_event {
	__u64 id;
	__u32 kind;
	__u32 len;
	char path[NSTL_CGROUP_PATH_MAX];
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

/*
 * floor(log2(v)) for v > 0, 0 for v == 0, without a branch (BPF has no
 * clz): a binary search for the top bit in six steps, each step's "are
 * there bits above?" found by arithmetic, (x + 2^k - 1) >> k for an x
 * below 2^k.
 * With branches the verifier would follow one path per outcome, each with
 * a different exact value that the native index is computed from: the
 * code after it verified once per path (start-up took 1.4 s, not 0.2 s).
 */
static inline __u64 floor_log2_u64(__u64 v)
{
	__u64 log2, step;

	step = ((v >> 32) + 0xffffffffULL) >> 32 << 5; /* 32 or 0 */
	v >>= step;
	log2 = step;
	step = ((v >> 16) + 0xffff) >> 16 << 4;
	v >>= step;
	log2 += step;
	step = ((v >> 8) + 0xff) >> 8 << 3;
	v >>= step;
	log2 += step;
	step = ((v >> 4) + 0xf) >> 4 << 2;
	v >>= step;
	log2 += step;
	step = ((v >> 2) + 0x3) >> 2 << 1;
	v >>= step;
	log2 += step;
	log2 += v >> 1;	  /* v < 4 here */
	return log2 & 63; /* a bound the verifier can see */
}

/*
 * The bucket of a latency in ns, from its floor(log2) (floor_log2_u64,
 * which the native bucket needs too: computed once per sample):
 * ceil(log2(v)) clamped to HIST_MAX_BUCKET, so that bucket i is
 * right-inclusive (v <= 2^i). v is above 2^floor_log2 exactly when
 * 2^floor_log2 - v wraps, which sets the top bit (v < 2^(floor_log2 + 1)).
 */
static inline __u32 hist_bucket_of_log2(__u64 v, __u64 floor_log2)
{
	__u64 bucket = floor_log2 + ((((__u64)1 << floor_log2) - v) >> 63);

	return bucket > HIST_MAX_BUCKET ? HIST_MAX_BUCKET : (__u32)bucket;
}

static inline __u32 hist_bucket_index(__u64 v)
{
	return hist_bucket_of_log2(v, floor_log2_u64(v));
}

/*
 * Native histogram buckets (Prometheus' exponential buckets) of schema 3:
 * bucket i holds latencies in (2^((i-1)/8), 2^(i/8)] *seconds*. They never
 * line up with the power-of-two ns buckets above (1 ns = 2^-29.897 s), so
 * the index is computed exactly from the ns value, in integers:
 *
 *   i = ceil(8 * log2(v * 1e-9)) = 8k - 239 + ceil(8 * log2(f) - r)
 *
 * where v = f * 2^k (k = floor(log2(v)), f in [1, 2)) and 8 * log2(1e9) =
 * 239 + r. The last term counts the j in 0..7 with f > 2^((j + r) / 8),
 * that is with v << (63 - k) > NATIVE_MANTISSA_j: floor(2^((j + r) / 8) *
 * 2^63), computed to 80 digits (docs/metrics.md shows how). Comparing the
 * exact integer v << (63 - k) with the floor of the threshold is exact:
 * v lies above the real threshold exactly when it lies above its floor.
 * (NATIVE_MANTISSA_7 is 1e9 * 2^34: 1 s is bucket 0's upper bound.)
 *
 * Slot 0 is the zero bucket: v == 0 (all below 2^-30 s = 0.93 ns, the
 * zero threshold). Slot s > 0 is bucket s - 240, so 1 ns is slot 1
 * (bucket -239) and slot 8k + 1 starts the ns octave [2^k, 2^(k+1)).
 * Latencies from 2^40 ns (18 minutes) on are counted in the last slot.
 */
#define NATIVE_SCHEMA 3
#define NATIVE_INDEX_OFFSET 240 /* bucket = slot - NATIVE_INDEX_OFFSET */
#define NATIVE_MAX_LOG2 39	/* the last ns octave with slots of its own */
#define NATIVE_NSLOTS (8 * (NATIVE_MAX_LOG2 + 1) + 2)
#define NATIVE_MANTISSA_0 9367390095664785123ULL
#define NATIVE_MANTISSA_1 10215211334214395865ULL
#define NATIVE_MANTISSA_2 11139766950770582417ULL
#define NATIVE_MANTISSA_3 12148001999904198769ULL
#define NATIVE_MANTISSA_4 13247490117328543392ULL
#define NATIVE_MANTISSA_5 14446490411353358019ULL
#define NATIVE_MANTISSA_6 15754009503455335899ULL
#define NATIVE_MANTISSA_7 17179869184000000000ULL

/*
 * Counting the thresholds below f: split [2^63, 2^64) into 16 equal bins
 * (bin b holds the f with f >> 59 == 16 + b). Two thresholds are 2^(1/8)
 * apart, more than a bin's width, so a bin holds at most one: the count is
 * the thresholds of the bins below f's (NATIVE_BELOW_BIN, 4 bits per bin)
 * plus 1 if f lies above its own bin's threshold (native_bin_mantissa[],
 * all ones for a bin without one: no f lies above that). One load and a
 * few operations; eight compares against 64-bit constants were 100 bytes
 * more of JIT code on every sample's path, and up to 3 ns dearer
 * (docs/performance.md). tests/unit/test_native_histogram.cpp derives both
 * tables from NATIVE_MANTISSA_*.
 */
#define NATIVE_BELOW_BIN 0x8877665554332210ULL
static const __u64 native_bin_mantissa[16] = {
	NATIVE_MANTISSA_0,
	NATIVE_MANTISSA_1,
	~0ULL,
	NATIVE_MANTISSA_2,
	~0ULL,
	NATIVE_MANTISSA_3,
	NATIVE_MANTISSA_4,
	~0ULL,
	~0ULL,
	NATIVE_MANTISSA_5,
	~0ULL,
	NATIVE_MANTISSA_6,
	~0ULL,
	NATIVE_MANTISSA_7,
	~0ULL,
	~0ULL,
};

static inline __u32 native_slot_of(__u64 v, __u64 floor_log2)
{
	__u64 f, bin;
	__u64 above; /* thresholds of the octave below v */

	if (v == 0)
		return 0;
	if (floor_log2 > NATIVE_MAX_LOG2)
		return NATIVE_NSLOTS - 1;
	f = v << (63 - floor_log2); /* in [2^63, 2^64) */
	bin = (f >> 59) & 15;
	/* M - f wraps to a value with the top bit set exactly when f > M
	 * (both in [2^63, 2^64)): a compare without a branch. */
	above = (NATIVE_BELOW_BIN >> (bin << 2)) & 0xf;
	above += (native_bin_mantissa[bin] - f) >> 63;
	return (__u32)(8 * floor_log2 + above + 1);
}

/*
 * One hook's histograms: the value of the per-CPU array indexed by hook.
 * The native buckets come first: user space copies each CPU's value in
 * address order and the programs count a sample in the classic buckets
 * before the native ones, so a native total read never exceeds the
 * classic count read with it. Sum and count are the classic histogram's.
 */
struct hook_entry {
	__u64 native[NATIVE_NSLOTS];
	struct hook_hist hist;
};

/* TCP sequence numbers: a before b, modulo 2^32 (the kernel's before()). */
static inline int tcp_seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

/*
 * A sequence number as a position in the stream (bytes since the peer's
 * ISN, 64 bits), from a socket's rcv_nxt and bytes_received (rcv_nxt's
 * position), read under the socket lock: seq within 2 GB of rcv_nxt, as
 * the data a socket holds, or is reading, is. The head-of-line state keeps
 * positions, not sequence numbers: reads may pass it unchecked for any
 * length of stream (see tcp_ooo_until_ns in netstacklat.bpf.c), and a
 * sequence number passed by 2 GB looks ahead again.
 */
static inline __u64 tcp_stream_pos(__u32 seq, __u32 rcv_nxt,
				   __u64 bytes_received)
{
	return bytes_received + (__s64)(__s32)(seq - rcv_nxt);
}

/*
 * Whether skb->tstamp can be a CLOCK_REALTIME RX stamp, on kernels where no
 * flag marks a delivery time (before 5.18: skb->mono_delivery_time, later
 * tstamp_type). TCP's pacing stamps (CLOCK_MONOTONIC) can still be there
 * on receive, on a veth within one namespace for instance. Realtime is
 * ~1.8e18 ns today; a monotonic value is an uptime, below 1e17 ns unless
 * the machine has run for 3 years. (A clock set before 1973 loses every
 * sample, which is better than a 56-year latency.)
 */
#define NSTL_MIN_REALTIME_NS 100000000000000000LL

static inline bool nstl_tstamp_looks_realtime(__s64 tstamp_ns)
{
	return tstamp_ns > NSTL_MIN_REALTIME_NS;
}

/*
 * Where the out-of-order data held by a TCP socket ends, for the
 * head-of-line filter, from TCP_SKB_CB(tp->ooo_last_skb)->end_seq as read
 * without the socket lock. That skb may have been merged and freed between
 * the check that the queue is not empty and the read (then its memory is
 * often zeroed, or reused by another skb), so, as upstream netstacklat
 * (bpf-examples d65196c): 0 is taken for such a read, and an end beyond the
 * receive window, where no segment can have been accepted, is clamped to
 * the window's end (rcv_wup + rcv_wnd, or rcv_nxt if that is ahead). Either
 * way the result is an end no valid segment can exceed: reads up to it may
 * be left out that were not blocked, never 2 GB of them.
 */
static inline __u32 tcp_ooo_end(__u32 last_end_seq, __u32 rcv_nxt,
				__u32 rcv_wup, __u32 rcv_wnd)
{
	__u32 window_end = rcv_wup + rcv_wnd;

	if (tcp_seq_before(window_end, rcv_nxt))
		window_end = rcv_nxt;
	if (last_end_seq == 0 || tcp_seq_before(window_end, last_end_seq))
		return window_end;
	return last_end_seq;
}

/* A struct hook_entry in u64 lanes; its hook_hist starts at this lane. */
#define ENTRY_VALUE_LANES (sizeof(struct hook_entry) / sizeof(__u64))
#define ENTRY_HIST_LANE0 NATIVE_NSLOTS

#endif /* NETSTACKLAT_H */
