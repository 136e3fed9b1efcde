// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netstacklat: latency from the kernel's RX software timestamp (skb->tstamp)
 * to points along the receive path, as log2 histograms: a per-CPU array of
 * histograms indexed by hook, or with grouping a per-CPU hash of them keyed
 * by label set in upstream netstacklat's key layout (hist_key). The daemon
 * serves both in ebpf_exporter's shape.
 *
 * Each logical hook has several programs: the fentry/fexit ones (upstream's
 * attach points, then the seed's) and BTF tracepoints for kernels that refuse
 * fentry. The daemon probes each one and autoloads only the first that works
 * per hook (see daemon/config/hooks.cpp), so a program here never needs to know
 * whether another one is attached.
 */
#include "vmlinux_local.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netstacklat.h"

char LICENSE[] SEC("license") = "GPL";

#define NS_PER_S 1000000000LL

/*
 * skb->tstamp is CLOCK_REALTIME, which BPF cannot read. The programs read
 * the TAI clock (bpf_ktime_get_tai_ns, Linux >= 6.1) or, where the kernel
 * lacks it or the config asks, the monotonic clock (bpf_ktime_get_ns), and
 * subtract clock_offset_ns: that clock minus CLOCK_REALTIME, which the
 * daemon writes here (.bss: refreshed without a reload). TAI - REALTIME
 * moves only with leap seconds; MONOTONIC - REALTIME moves whenever the
 * clock is set or slewed, so the daemon re-reads it every second and at
 * once when the clock is set. monotonic_clock is read-only data: the
 * verifier drops the path not taken, the helper call included, so 5.x
 * kernels never see the TAI helper they do not have.
 */
const volatile bool monotonic_clock = false;
__s64 clock_offset_ns = 0;

/* The clock skb->tstamp is compared with (see clock_offset_ns). */
static __always_inline __s64 clock_now(void)
{
	return (monotonic_clock ? (__s64)bpf_ktime_get_ns()
				: (__s64)bpf_ktime_get_tai_ns()) -
	       clock_offset_ns;
}

/*
 * Which hooks are attached, set by the daemon before load. Only programs
 * shared by several hooks look at it; it is read-only data, so the
 * verifier drops the branches of hooks that are off: no cost per event.
 */
const volatile __u8 hook_on[NETSTACKLAT_HOOK_MAX] = {};
/*
 * Set at load where the kernel is PREEMPT_RT: there tracing programs run
 * with migration disabled but not preemption, so two programs on one CPU
 * (two readers in process context, or TCP's backlog processing) can
 * interleave a per-CPU read-modify-write and lose an update. Elsewhere a
 * plain increment is exact and cheaper; the verifier drops the unused path.
 */
const volatile bool atomic_increments = false;
/* Native histogram buckets (struct hook_entry) beside the classic ones,
 * per hook: on unless the config turns them off; off, the verifier drops
 * all of it. */
const volatile bool native_histograms = false;
/* Exemplars (the slowest sample per interval, CPU and label set): on
 * unless the config turns them off; off, the verifier drops all of it. */
const volatile bool capture_exemplars = false;
/* The unit of the classic buckets in ns: 1 (ns, upstream netstacklat's
 * config) or 1000 (us, ebpf_exporter's own netstacklat config, whose
 * bucket_multiplier is 1e-6). A latency is rounded up to whole units, so
 * that bucket i still holds exactly the latencies <= 2^i units; the sum,
 * the native buckets and the exemplars stay in ns. At 1 the verifier drops
 * the division. */
const volatile __u32 latency_unit_ns = 1;
/* Record one event in this many per hook and CPU (1: all). Decided before
 * anything else is read, so the events skipped cost only the countdown. */
const volatile __u32 sample_one_in = 1;
/* The current scrape interval; user space advances it when an OpenMetrics
 * scrape takes the exemplars of the one that ends, and starts it at 1
 * (records never written, gen 0, belong to no interval). In .bss beside
 * clock_offset_ns, which every sample reads: no line of its own. */
__u64 exemplar_gen = 0;

/*
 * Without grouping the key space is tiny and fixed (hook x slot), so the
 * histogram is a per-CPU array indexed by hook whose value holds all the
 * slots of that hook, classic and native (struct hook_entry; netstacklat.h
 * explains the native index): one array lookup per sample (no key hashing,
 * no lookup-or-insert, one for both kinds of bucket), and no atomics, as
 * the value is per CPU. The daemon turns each (hook, slot) into upstream's
 * hist_key when it reads the map. Grouped samples have no native buckets:
 * per label set they would cost 2.5 KB per CPU each (docs/metrics.md).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSTACKLAT_HOOK_MAX);
	__type(key, __u32);
	__type(value, struct hook_entry);
} netstack_latency_seconds SEC(".maps");

/*
 * Filters and grouping (struct netstacklat_config in netstacklat.h). In
 * .bss, not .rodata, so the daemon can change them on reload without
 * reloading the programs.
 */
struct netstacklat_config netstacklat_cfg = {};

/* sampled(): per hook and CPU, the events left until the next recorded
 * one (0 at start: the first event is recorded). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSTACKLAT_HOOK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} netstacklat_sample_countdown SEC(".maps");

/* cgroup_id_map: cgroups as they come and go (struct nstl_cgroup_event),
 * and the one event being built (the ring gets only its path's bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} netstacklat_cgroup_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nstl_cgroup_event);
} netstacklat_cgroup_scratch SEC(".maps");

/* Events the ring had no room for: user space then walks the tree again. */
__u64 cgroup_events_lost = 0;

/* Filter sets: key present = selected. Sized by the daemon from the config. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} netstacklat_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} netstacklat_ifindexes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u8);
} netstacklat_cgroups SEC(".maps");

/*
 * With grouping the key space is open (interfaces x cgroups), so grouped
 * samples go to a per-CPU hash keyed by label set (upstream's hist_key,
 * bucket 0) whose value holds all the slots of that label set, as the
 * array does per hook: one lookup per sample, and a new key only for a
 * new label set. Sized by the daemon from the config; samples that find it
 * full are counted, not lost silently.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct hist_key);
	__type(value, struct hook_hist);
} netstack_latency_grouped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} netstacklat_drops SEC(".maps");

/*
 * Per hook: samples not counted because skb->tstamp was later than the
 * clock read (a clock step, or two CPUs' clocks apart), so that every
 * timestamped packet a hook saw is in its histogram or here.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSTACKLAT_HOOK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} netstacklat_future_tstamps SEC(".maps");

/*
 * Per TCP socket, for the head-of-line blocking filter: data up to ooo_end
 * was received while a segment before it was missing, so its reads include
 * the wait for the retransmission or the reordered segment.
 */
struct tcp_hol_state {
	__u64 ooo_end; /* end of the out-of-order data seen (tcp_stream_pos) */
	__u32 ooopack; /* tp->rcv_ooopack when last looked at */
	__u32 isn;     /* the socket's identity, in netstacklat_tcp_hol_lru */
	__u8 active;   /* reads have not passed ooo_end yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tcp_hol_state);
} netstacklat_tcp_hol SEC(".maps");

/*
 * Tracing programs may use socket storage from Linux 5.11 on; the daemon
 * probes it and clears this flag where the kernel refuses (5.10). There the
 * state lives in an LRU hash keyed by the socket's address, sized by the
 * daemon (1 entry where socket storage is used). The verifier drops the
 * path not taken, the helper call included.
 */
const volatile bool tracing_sk_storage = true;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcp_hol_state);
} netstacklat_tcp_hol_lru SEC(".maps");

/* bpf_get_current_task_btf (Linux 5.11); probed like tracing_sk_storage. */
const volatile bool task_btf = true;

static __always_inline bool is_socket_read(enum netstacklat_hook hook)
{
	return hook == NETSTACKLAT_HOOK_TCP_SOCK_READ ||
	       hook == NETSTACKLAT_HOOK_UDP_SOCK_READ;
}

/* The namespace of the task running now (a reader, in process context). */
static __always_inline __u64 task_netns(void)
{
	struct task_struct *task;
	struct nsproxy *ns;

	if (!task_btf) { /* probe reads: a NULL nsproxy reads as 0 */
		task = (struct task_struct *)bpf_get_current_task();
		return BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	}
	ns = bpf_get_current_task_btf()->nsproxy;
	return ns ? ns->net_ns->ns.inum : 0; /* NULL only while exiting */
}

/*
 * The network namespace of a sample (inode), 0 if it cannot be told: the
 * socket's where the hook has one; on the way up to a socket, the
 * receiving device's (skb->dev is the device from netif_receive_skb to
 * the transport's rcv); at a socket read without its socket (UDP seen
 * through skb_copy_datagram_iovec), the reader's. Never skb->dev there:
 * UDP reuses that field as dev_scratch once the skb is queued, and
 * following it faulted on every datagram (~5.7 us each, fixed up by the
 * BPF exception table).
 */
static __always_inline __u64 sample_netns(const struct sk_buff *skb,
					  struct sock *sk,
					  enum netstacklat_hook hook)
{
	struct net_device *dev;

	if (sk)
		return sk->__sk_common.skc_net.net->ns.inum;
	if (is_socket_read(hook))
		return task_netns();
	dev = skb ? skb->dev : NULL;
	return dev ? dev->nd_net.net->ns.inum : 0;
}

/*
 * The receiving interface: skb_iif, set by the core receive path right
 * after the netif_receive_skb tracepoint fires; there, the device itself.
 */
static __always_inline __u32 sample_ifindex(const struct sk_buff *skb,
					    struct sock *sk,
					    enum netstacklat_hook hook)
{
	if (skb && hook == NETSTACKLAT_HOOK_NETIF_RECEIVE) {
		struct net_device *dev = skb->dev;

		return dev ? dev->ifindex : 0;
	}
	if (skb)
		return skb->skb_iif;
	if (!sk)
		return 0;
	/* CO-RE: the branch for the other layout is dropped at load. */
	if (bpf_core_field_exists(sk->sk_rx_dst_ifindex))
		return sk->sk_rx_dst_ifindex;
	return BPF_CORE_READ((struct inet_sock___old *)sk, rx_dst_ifindex);
}

/*
 * Before the clock is read: a filtered-out sample costs a few loads. The
 * process (pid, cgroup) is only known where user space reads a socket.
 */
static __always_inline bool selected(const struct sk_buff *skb, struct sock *sk,
				     enum netstacklat_hook hook)
{
	if (netstacklat_cfg.netns_inum) {
		__u64 netns = sample_netns(skb, sk, hook);

		if (netns && netns != netstacklat_cfg.netns_inum)
			return false;
	}
	if (netstacklat_cfg.filter_ifindex) {
		__u32 ifindex = sample_ifindex(skb, sk, hook);

		if (!bpf_map_lookup_elem(&netstacklat_ifindexes, &ifindex))
			return false;
	}
	if (!is_socket_read(hook))
		return true;
	if (netstacklat_cfg.filter_pid) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		if (!bpf_map_lookup_elem(&netstacklat_pids, &tgid))
			return false;
	}
	if (netstacklat_cfg.filter_cgroup) {
		__u64 cgroup = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&netstacklat_cgroups, &cgroup))
			return false;
	}
	return true;
}

/*
 * Socket reads only when the receive queue holds at least
 * min_sockqueue_len skbs besides the one being read (queued_self: 1 where
 * it is still queued), or the backlog is in use: upstream's -q, which
 * keeps reads of lightly loaded sockets out (and their cost with them).
 * A read whose socket is unknown cannot pass.
 */
static __always_inline bool queue_long_enough(struct sock *sk,
					      __u32 queued_self, bool udp)
{
	__u32 min = netstacklat_cfg.min_sockqueue_len;
	__u32 qlen;

	if (!min)
		return true;
	if (!sk)
		return false;
	if (sk->sk_backlog.tail)
		return true;
	qlen = sk->sk_receive_queue.qlen;
	if (udp)
		qlen += BPF_CORE_READ((struct udp_sock *)sk, reader_queue.qlen);
	return qlen >= min + queued_self;
}

/*
 * Whether a TCP read consumed data that had to wait behind a missing
 * segment (head-of-line blocking: the wait is the network's loss or
 * reordering, not the host's latency), excluded unless include_tcp_hol.
 * pending: bytes this read copies that copied_seq does not count yet.
 * Sockets that never saw an out-of-order segment (rcv_ooopack 0, the
 * common case) cost two loads and keep no state.
 */
/*
 * A tcp_sock field: a direct BTF load where the program holds a typed
 * tcp_sock, else a probe read (a bpf_probe_read_kernel() call per field).
 * Typed: fentry's trusted sock through bpf_skc_to_tcp_sock(), or, at the
 * tracepoint, where skb->sk is an RCU pointer that helper refuses, a
 * read-only view of it through bpf_rdonly_cast() (tcp_sock_of()).
 */
#define TCP_FIELD(tp, typed, field)                                            \
	((typed) ? (tp)->field : BPF_CORE_READ(tp, field))

/*
 * bpf_rdonly_cast (Linux 6.2): a pointer the verifier does not trust, seen
 * as a given kernel type, whose fields are then plain loads guarded by an
 * exception-table entry. Only in the object built with NSTL_RDONLY_CAST,
 * which the daemon loads where the kernel's BTF has the kfunc: an object
 * that names a kfunc the kernel lacks does not load without CAP_SYS_ADMIN,
 * weak or not (libbpf 1.1 then searches the modules' BTF, which needs it).
 */
#ifndef NSTL_RDONLY_CAST
#define NSTL_RDONLY_CAST 0
#endif
#if NSTL_RDONLY_CAST
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#endif

/* The tcp_sock of a TCP socket, and whether its fields are direct loads. */
static __always_inline struct tcp_sock *tcp_sock_of(struct sock *sk,
						    bool trusted, bool *typed)
{
	*typed = true;
	if (trusted)
		return bpf_skc_to_tcp_sock(sk);
#if NSTL_RDONLY_CAST
	return bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
#else
	*typed = false;
	return (struct tcp_sock *)sk;
#endif
}

/*
 * The head-of-line state of a socket, created on first use. In the LRU
 * hash a freed socket's entry can outlive it and meet a new socket at the
 * same address: the peer's initial sequence number tells them apart
 * (rcv_nxt - bytes_received, constant for a connection's life: every
 * advance of rcv_nxt adds to bytes_received, the FIN's included).
 */
static __always_inline struct tcp_hol_state *
tcp_hol_state_of(struct sock *sk, struct tcp_sock *tp, bool typed)
{
	struct tcp_hol_state fresh = {}, *st;
	__u64 key = (__u64)sk;

	if (tracing_sk_storage)
		return bpf_sk_storage_get(&netstacklat_tcp_hol, sk, NULL,
					  BPF_SK_STORAGE_GET_F_CREATE);
	fresh.isn = TCP_FIELD(tp, typed, rcv_nxt) -
		    (__u32)TCP_FIELD(tp, typed, bytes_received);
	st = bpf_map_lookup_elem(&netstacklat_tcp_hol_lru, &key);
	if (st && st->isn == fresh.isn)
		return st;
	bpf_map_update_elem(&netstacklat_tcp_hol_lru, &key, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&netstacklat_tcp_hol_lru, &key);
}

/*
 * The head-of-line check's shortcut. A TCP read can only include a wait
 * behind a missing segment if the socket held out-of-order data after its
 * skb was queued. nstl_tp_tcp_prb sees each segment an established socket
 * gets, before TCP queues it (note_tcp_ooo), and while the socket holds
 * out-of-order data it moves this time (skb->tstamp's clock) past the
 * present. A read of an skb stamped later skips the check and its cold
 * tcp_sock line. It moves by TCP_OOO_HORIZON_NS at a time, so that it is
 * written at most once per horizon however much reordering there is, and
 * sits in a section of its own: no line read per packet shares its writes.
 * S64_MAX: no tracker; the daemon lowers it to the time it attached one
 * (what was queued before then gets the check). One time for all sockets:
 * a host that sees reordering all the time pays for the check as before.
 */
__s64 tcp_ooo_until_ns SEC(".data.tcp_ooo") = 0x7fffffffffffffffLL;
#define TCP_OOO_HORIZON_NS 1000000

/*
 * What nstl_tp_tcp_prb does, set by the daemon before load: count
 * tcp-start (where that hook chose it), track out-of-order data for the
 * check above (where TCP reads are measured and their check is on), or
 * both. Read-only data: the verifier drops what is off.
 */
const volatile bool tcp_probe_counts = false;
const volatile bool tcp_probe_tracks = false;

/*
 * Only data an established socket received passed nstl_tp_tcp_prb (TCP
 * leaves that state for CLOSE_WAIT only by the peer's FIN, after the
 * data); a socket in any other state may have queued data past it
 * (tcp_rcv_state_process(): the handshake, FIN_WAIT*), and gets the check.
 */
static __always_inline bool tcp_ooo_tracked(struct sock *sk)
{
	unsigned char state = sk->__sk_common.skc_state;

	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT;
}

/*
 * At tcp_probe, before TCP queues the segment: while the socket holds
 * out-of-order data, raise the time. The last segment to arrive so is the
 * one that fills the last hole; everything that waited was queued before
 * it, so stamped before the time it raised (its own stamp need not be: a
 * segment is stamped before it is processed, not in sequence order).
 */
static __always_inline void note_tcp_ooo(struct sock *sk)
{
	struct tcp_sock *tp;
	__s64 now;
	bool typed;

	tp = tcp_sock_of(sk, !NSTL_RDONLY_CAST, &typed);
	if (!tp || !TCP_FIELD(tp, typed, out_of_order_queue.rb_node))
		return;
	now = clock_now();
	if (tcp_ooo_until_ns < now)
		tcp_ooo_until_ns = now + TCP_OOO_HORIZON_NS;
}

static __always_inline bool tcp_hol_blocked(struct sock *sk, bool trusted,
					    __s64 tstamp_ns, __u32 pending)
{
	struct tcp_sock *tp;
	struct tcp_hol_state *st;
	__u32 ooopack, end, rcv_nxt;
	__u64 received, end_pos;
	bool typed;

	if (netstacklat_cfg.include_tcp_hol || !sk)
		return false;
	if (tstamp_ns > tcp_ooo_until_ns && tcp_ooo_tracked(sk))
		return false;
	tp = tcp_sock_of(sk, trusted, &typed);
	if (!tp)
		return false;
	ooopack = TCP_FIELD(tp, typed, rcv_ooopack);
	if (!ooopack)
		return false;
	st = tcp_hol_state_of(sk, tp, typed);
	if (!st)
		return false;
	rcv_nxt = TCP_FIELD(tp, typed, rcv_nxt);
	received = TCP_FIELD(tp, typed, bytes_received);
	if (st->ooopack != ooopack) {
		/* New out-of-order data since we last looked: what is held
		 * out of order ends at the last queued skb; if the hole has
		 * been filled already, all of it is below rcv_nxt. */
		end = rcv_nxt;
		if (TCP_FIELD(tp, typed, out_of_order_queue.rb_node)) {
			struct sk_buff *last = BPF_CORE_READ(tp, ooo_last_skb);
			__u32 last_end = 0;

			/* TCP_SKB_CB(last)->end_seq: a pointer read without
			 * the socket lock, hence the clamp (tcp_ooo_end). */
			bpf_core_read(&last_end, sizeof(last_end),
				      &last->cb[4]);
			end = tcp_ooo_end(last_end, end,
					  TCP_FIELD(tp, typed, rcv_wup),
					  TCP_FIELD(tp, typed, rcv_wnd));
		}
		end_pos = tcp_stream_pos(end, rcv_nxt, received);
		if (!st->active || st->ooo_end < end_pos)
			st->ooo_end = end_pos;
		st->active = 1;
		st->ooopack = ooopack;
	}
	if (!st->active)
		return false;
	if (st->ooo_end <
	    tcp_stream_pos(TCP_FIELD(tp, typed, copied_seq) + pending, rcv_nxt,
			   received)) {
		st->active = 0; /* reads have passed the out-of-order data */
		return false;
	}
	return true;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *drops = bpf_map_lookup_elem(&netstacklat_drops, &zero);

	if (drops)
		(*drops)++;
}

static __always_inline void count_future_tstamp(enum netstacklat_hook hook)
{
	__u32 key = hook;
	__u64 *n = bpf_map_lookup_elem(&netstacklat_future_tstamps, &key);

	if (n)
		__sync_fetch_and_add(n,
				     1); /* rare: no need to spare the atomic */
}

/*
 * Where the IP header starts: before IP's receive (netif-receive, ip-start)
 * skb->data points at it and network_header is not set yet.
 */
static __always_inline const unsigned char *
l3_header(const struct sk_buff *skb, enum netstacklat_hook hook)
{
	if (hook == NETSTACKLAT_HOOK_NETIF_RECEIVE ||
	    hook == NETSTACKLAT_HOOK_IP_START)
		return skb->data;
	return skb->head + skb->network_header;
}

/* The flow from the packet's own headers (wire-format offsets). */
static __always_inline void exemplar_flow_skb(struct nstl_exemplar *ex,
					      const struct sk_buff *skb,
					      enum netstacklat_hook hook)
{
	const unsigned char *nh = l3_header(skb, hook);
	const unsigned char *l4 = NULL;
	__be16 ports[2] = {};

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 version_ihl = 0;
		__be16 frag_off = 0;

		bpf_probe_read_kernel(&version_ihl, 1, nh);
		bpf_probe_read_kernel(&frag_off, 2, nh + 6);
		bpf_probe_read_kernel(&ex->protocol, 1, nh + 9);
		bpf_probe_read_kernel(ex->saddr, 4, nh + 12);
		bpf_probe_read_kernel(ex->daddr, 4, nh + 16);
		ex->family = AF_INET;
		if (!(bpf_ntohs(frag_off) & 0x1fff)) /* ports: first fragment */
			l4 = nh + (version_ihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		bpf_probe_read_kernel(&ex->protocol, 1, nh + 6);
		bpf_probe_read_kernel(ex->saddr, 16, nh + 8);
		bpf_probe_read_kernel(ex->daddr, 16, nh + 24);
		ex->family = AF_INET6;
		l4 = nh + 40; /* TCP or UDP right after the fixed header */
	} else {
		return;
	}
	if (!l4 || (ex->protocol != IPPROTO_TCP && ex->protocol != IPPROTO_UDP))
		return;
	bpf_probe_read_kernel(ports, sizeof(ports), l4);
	ex->sport = bpf_ntohs(ports[0]);
	ex->dport = bpf_ntohs(ports[1]);
}

/* The flow from a connected socket: its peer sends, it receives. */
static __always_inline void exemplar_flow_sk(struct nstl_exemplar *ex,
					     struct sock *sk)
{
	unsigned short family = sk->__sk_common.skc_family;

	if (family == AF_INET) {
		bpf_probe_read_kernel(ex->saddr, 4, &sk->__sk_common.skc_daddr);
		bpf_probe_read_kernel(ex->daddr, 4,
				      &sk->__sk_common.skc_rcv_saddr);
	} else if (family == AF_INET6) {
		bpf_probe_read_kernel(ex->saddr, 16,
				      &sk->__sk_common.skc_v6_daddr);
		bpf_probe_read_kernel(ex->daddr, 16,
				      &sk->__sk_common.skc_v6_rcv_saddr);
	} else {
		return;
	}
	ex->family = family;
	ex->protocol = sk->sk_protocol;
	ex->sport = bpf_ntohs(sk->__sk_common.skc_dport);
	ex->dport = sk->__sk_common.skc_num;
}

/*
 * A new slowest sample: who it was, after note_exemplar() has started the
 * record (done, gen, latency_ns). TCP flows come from the socket where
 * there is one (tcp_recv_timestamp() has no skb); UDP ones from the
 * datagram (an unconnected socket has no peer). done is written last, so
 * user space can tell a record being written from a complete one.
 *
 * Out of line (a BPF subprogram, not inlined): it runs for a few samples
 * per interval, and inlined (twice in some programs: the grouped and the
 * per-hook path) it sat between the per-sample instructions; out of it,
 * nstl_tp_netif's JIT image went 3.6 KB -> 2.9 KB, and its UDP samples
 * cost 2 .. 7 ns less (docs/performance.md). At most five arguments (a
 * BPF call's limit), so the caller writes the first fields.
 */
static __noinline void fill_exemplar(struct nstl_exemplar *ex, __s64 tstamp_ns,
				     const struct sk_buff *skb, struct sock *sk,
				     enum netstacklat_hook hook)
{
	ex->tstamp_ns = tstamp_ns;
	ex->ifindex = sample_ifindex(skb, sk, hook);
	ex->family = 0;
	ex->protocol = 0;
	ex->sport = 0;
	ex->dport = 0;
	if (skb && (!sk || sk->sk_protocol != IPPROTO_TCP))
		exemplar_flow_skb(ex, skb, hook);
	else if (sk)
		exemplar_flow_sk(ex, sk);
	ex->pid = 0;
	ex->cgroup = 0;
	ex->comm[0] = 0;
	if (is_socket_read(hook)) {
		ex->pid = bpf_get_current_pid_tgid() >> 32;
		ex->cgroup = bpf_get_current_cgroup_id();
		bpf_get_current_comm(ex->comm, sizeof(ex->comm));
	}
	asm volatile("" ::: "memory");
	ex->done = ex->latency_ns;
}

/* Keeps the slowest sample of the interval; the common case (not a new
 * maximum) is two compares against the value in hand. */
static __always_inline void note_exemplar(struct hook_hist *hist,
					  __u64 latency_ns, __s64 tstamp_ns,
					  const struct sk_buff *skb,
					  struct sock *sk,
					  enum netstacklat_hook hook)
{
	__u64 gen = *(volatile __u64 *)&exemplar_gen;
	__u64 max = hist->ex_max;
	__u64 ns = latency_ns < EXEMPLAR_MAX_NS_MASK ? latency_ns
						     : EXEMPLAR_MAX_NS_MASK;
	struct nstl_exemplar *ex;

	/* (A series idle for exactly 65536 intervals could take an old
	 * maximum for this one's: that interval then has no exemplar.) */
	if ((max >> EXEMPLAR_MAX_GEN_SHIFT) == (gen & 0xffff) &&
	    ns <= (max & EXEMPLAR_MAX_NS_MASK))
		return;
	hist->ex_max = (gen << EXEMPLAR_MAX_GEN_SHIFT) | ns;
	ex = &hist->ex[gen & 1];
	ex->done = 0;
	ex->gen = gen;
	ex->latency_ns = latency_ns;
	fill_exemplar(ex, tstamp_ns, skb, sk, hook);
}

static __always_inline void count_one(__u64 *slot)
{
	if (atomic_increments)
		__sync_fetch_and_add(slot, 1);
	else
		(*slot)++;
}

/*
 * The classic bucket of a latency. In ns (the default) it comes from the
 * floor(log2) the native bucket uses too; in coarser units the latency is
 * rounded up to whole units first (the verifier drops the path not taken).
 */
static __always_inline __u32 classic_bucket(__u64 latency_ns, __u64 floor_log2)
{
	__u64 units;

	if (latency_unit_ns <= 1)
		return hist_bucket_of_log2(latency_ns, floor_log2);
	units = (latency_ns + latency_unit_ns - 1) / latency_unit_ns;
	return hist_bucket_index(units);
}

/* One sample into a per-CPU histogram. */
static __always_inline void hist_add(struct hook_hist *hist, __u64 latency_ns,
				     __u64 floor_log2)
{
	count_one(&hist->slots[classic_bucket(latency_ns, floor_log2)]);
	if (atomic_increments)
		__sync_fetch_and_add(&hist->slots[HIST_SUM_SLOT], latency_ns);
	else
		hist->slots[HIST_SUM_SLOT] += latency_ns;
}

/* After the classic buckets (see struct hook_entry), the native one. */
static __always_inline void native_add(__u64 *native, __u64 latency_ns,
				       __u64 floor_log2)
{
	__u32 slot = native_slot_of(latency_ns, floor_log2);

	/* Always true (native_slot_of clamps), but the verifier cannot follow
	 * that clamp through the compiler's arithmetic; the empty asm keeps
	 * the compiler from dropping this check, which the verifier sees. */
	asm volatile("" : "+r"(slot));
	if (slot < NATIVE_NSLOTS)
		count_one(&native[slot]);
}

/* The histogram of a label set, created on its first sample. */
static __always_inline struct hook_hist *grouped_hist(struct hist_key *key)
{
	static const struct hook_hist zero = {};
	struct hook_hist *hist =
		bpf_map_lookup_elem(&netstack_latency_grouped, key);

	if (hist)
		return hist;
	/* First sample of this label set on any CPU; a racing creator wins. */
	bpf_map_update_elem(&netstack_latency_grouped, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&netstack_latency_grouped, key);
}

/* A sample into its histogram (and its native buckets, if given and on),
 * and its exemplar if it is the slowest. The native bucket is counted
 * right after the classic one: there the verifier has few states to carry
 * into it (after the exemplar code it had many, and start-up verified the
 * native code once for each). */
static __always_inline void record_into(struct hook_hist *hist, __u64 *native,
					__u64 latency_ns, __s64 tstamp_ns,
					const struct sk_buff *skb,
					struct sock *sk,
					enum netstacklat_hook hook)
{
	__u64 floor_log2 = floor_log2_u64(latency_ns);

	hist_add(hist, latency_ns, floor_log2);
	if (native && native_histograms)
		native_add(native, latency_ns, floor_log2);
	if (capture_exemplars)
		note_exemplar(hist, latency_ns, tstamp_ns, skb, sk, hook);
}

/*
 * Inline, unlike fill_exemplar(): out of line (a call, and the hook no
 * longer a constant) it cost grouped samples 4 .. 21 ns more, more than
 * it saved the default config's (docs/performance.md).
 */
static __always_inline void record_grouped(__u64 latency_ns, __s64 tstamp_ns,
					   const struct sk_buff *skb,
					   struct sock *sk,
					   enum netstacklat_hook hook)
{
	struct hist_key key = { .hook = hook };
	struct hook_hist *hist;

	if (netstacklat_cfg.groupby_ifindex)
		key.ifindex = sample_ifindex(skb, sk, hook);
	if (netstacklat_cfg.groupby_cgroup && is_socket_read(hook))
		key.cgroup = bpf_get_current_cgroup_id();
	hist = grouped_hist(&key);
	if (!hist) {
		count_drop(); /* the map is full */
		return;
	}
	record_into(hist, NULL, latency_ns, tstamp_ns, skb, sk, hook);
}

static __always_inline void record_latency(__u64 latency_ns, __s64 tstamp_ns,
					   const struct sk_buff *skb,
					   struct sock *sk,
					   enum netstacklat_hook hook)
{
	__u32 key = hook;
	struct hook_entry *entry;

	if (netstacklat_cfg.groupby_ifindex || netstacklat_cfg.groupby_cgroup) {
		record_grouped(latency_ns, tstamp_ns, skb, sk, hook);
		return;
	}
	entry = bpf_map_lookup_elem(&netstack_latency_seconds, &key);
	if (!entry)
		return;
	record_into(&entry->hist, entry->native, latency_ns, tstamp_ns, skb, sk,
		    hook);
}

/* A sample that passed every filter, against the clock read at now. */
static __always_inline void record_at(__s64 now, __s64 tstamp_ns,
				      const struct sk_buff *skb,
				      struct sock *sk,
				      enum netstacklat_hook hook)
{
	/* A timestamp from the future means a clock step: not a latency. */
	if (now < tstamp_ns) {
		count_future_tstamp(hook);
		return;
	}
	record_latency(now - tstamp_ns, tstamp_ns, skb, sk, hook);
}

/*
 * 1-in-N sampling: true for one event in sample_one_in per hook and CPU.
 * A countdown, not a modulo (no division per event); per CPU, so no atomic
 * (on PREEMPT_RT two programs may interleave and sample one event more or
 * less: sampling is approximate there by that much).
 */
static __always_inline bool sampled(enum netstacklat_hook hook)
{
	__u32 key = hook;
	__u32 *left;

	if (sample_one_in <= 1)
		return true;
	left = bpf_map_lookup_elem(&netstacklat_sample_countdown, &key);
	if (!left)
		return false;
	if (*left > 1) {
		(*left)--;
		return false;
	}
	*left = sample_one_in;
	return true;
}

static __always_inline void record(__s64 tstamp_ns, const struct sk_buff *skb,
				   struct sock *sk, enum netstacklat_hook hook)
{
	if (tstamp_ns <= 0 || !sampled(hook) || !selected(skb, sk, hook))
		return;
	record_at(clock_now(), tstamp_ns, skb, sk, hook);
}

/*
 * Socket reads: the filters every hook has first (cheap, and they reject
 * most of what is rejected), then the socket-read ones, which load socket
 * fields the read path may not have in cache. queued_self: 1 where the
 * skb being read is still queued; pending: bytes of this read that
 * copied_seq does not count yet (TCP); trusted: sk is a trusted sock
 * (fentry arguments), not an RCU pointer from skb->sk (tp_btf).
 */
static __always_inline void
record_read(__s64 tstamp_ns, const struct sk_buff *skb, struct sock *sk,
	    enum netstacklat_hook hook, __u32 queued_self, __u32 pending,
	    bool trusted)
{
	bool tcp = hook == NETSTACKLAT_HOOK_TCP_SOCK_READ;
	__s64 now;

	if (tstamp_ns <= 0 || !sampled(hook) || !selected(skb, sk, hook))
		return;
	if (!queue_long_enough(sk, queued_self, !tcp))
		return;
	/*
	 * The clock before the head-of-line check: that check loads a
	 * tcp_sock field the read path has not touched (a cache miss; before
	 * 6.2, a probe read at the tracepoint), and the clock read waits for
	 * every load before it (rdtsc_ordered), so the miss no longer sits
	 * inside the latency measured. Only reads that turn out blocked pay for
	 * a clock read. (Its cost is not separable in the bench: TCP reads with
	 * this and the single floor(log2) went 1.43x -> 1.28x small, bulk
	 * unchanged.)
	 */
	now = clock_now();
	if (tcp && tcp_hol_blocked(sk, trusted, tstamp_ns, pending))
		return;
	record_at(now, tstamp_ns, skb, sk, hook);
}

/*
 * Hooks past IP's local delivery (TCP, UDP, their sockets). There, kernels
 * that flag a delivery time (5.18 on) have cleared it already:
 * skb_clear_delivery_time() in ip_local_deliver_finish() and
 * ip6_input_finish() leaves a realtime stamp or none.
 */
static __always_inline bool past_local_delivery(enum netstacklat_hook hook)
{
	return hook != NETSTACKLAT_HOOK_NETIF_RECEIVE &&
	       hook != NETSTACKLAT_HOOK_IP_START;
}

/*
 * skb->tstamp may hold a preserved TX/delivery time (forwarded or looped
 * packets); only CLOCK_REALTIME RX stamps are latencies from RX. Before
 * 5.18 no flag says which: the magnitude does (netstacklat.h). Where a
 * flag exists, hooks past local delivery need not read it (see above).
 */
static __always_inline bool tstamp_is_rx(const struct sk_buff *skb,
					 ktime_t tstamp,
					 enum netstacklat_hook hook)
{
	if (bpf_core_field_exists(struct sk_buff___new, tstamp_type))
		return past_local_delivery(hook) ||
		       BPF_CORE_READ_BITFIELD((struct sk_buff___new *)skb,
					      tstamp_type) == 0;
	if (bpf_core_field_exists(struct sk_buff___old, mono_delivery_time))
		return past_local_delivery(hook) ||
		       BPF_CORE_READ_BITFIELD((struct sk_buff___old *)skb,
					      mono_delivery_time) == 0;
	return nstl_tstamp_looks_realtime(tstamp);
}

/* skb->tstamp if it is an RX timestamp, else 0 (nothing to measure). */
static __always_inline ktime_t skb_rx_tstamp(const struct sk_buff *skb,
					     enum netstacklat_hook hook)
{
	/* Direct BTF reads: fentry and tp_btf arguments are typed pointers. */
	ktime_t tstamp = skb->tstamp;

	return tstamp > 0 && tstamp_is_rx(skb, tstamp, hook) ? tstamp : 0;
}

static __always_inline void record_skb(const struct sk_buff *skb,
				       struct sock *sk,
				       enum netstacklat_hook hook)
{
	record(skb_rx_tstamp(skb, hook), skb, sk, hook);
}

/* The IP header's protocol field (IPv6: next header), 0 if not IP. */
static __always_inline int skb_ip_protocol(const struct sk_buff *skb)
{
	const unsigned char *nh = skb->head + skb->network_header;
	__u8 proto = 0;

	/* Wire-format offsets: iphdr.protocol is byte 9, ipv6hdr.nexthdr 6. */
	if (skb->protocol == bpf_htons(ETH_P_IP))
		bpf_probe_read_kernel(&proto, sizeof(proto), nh + 9);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		bpf_probe_read_kernel(&proto, sizeof(proto), nh + 6);
	return proto;
}

/*
 * Whether the kernel's struct udp_dev_scratch is the one skb_queued_by_udp
 * reads (it is on every 64-bit kernel since 4.13); where not, the IP
 * header says. Constants at load time: the verifier drops the other path.
 */
static __always_inline bool udp_scratch_known(void)
{
	return bpf_core_type_exists(struct udp_dev_scratch) &&
	       bpf_core_field_offset(struct udp_dev_scratch, len) == 4 &&
	       bpf_core_field_offset(struct udp_dev_scratch, is_linear) == 6 &&
	       bpf_core_field_offset(struct udp_dev_scratch,
				     csum_unnecessary) == 7;
}

/*
 * Whether UDP queued this socket-less skb: from then on skb->dev_scratch
 * holds struct udp_dev_scratch (truesize, len, two bools: below 2^57, and
 * not 0 as truesize is not). Any other skb has a device pointer there
 * (0xffff8... on x86-64) or NULL. One load from the line the read path
 * unlinks the skb on, where the IP header's protocol byte costs a probe
 * read and often a miss (23-99 ns measured). The verifier types the word
 * as skb->dev, the union's first member: a pointer that a tracing program
 * may compare (it holds CAP_PERFMON) but not shift, so the test is on the
 * value's range, and the limit is hidden from the compiler, which would
 * turn a compare with a power of two into a shift.
 */
static __always_inline bool skb_queued_by_udp(const struct sk_buff *skb)
{
	__u64 scratch = skb->dev_scratch;
	__u64 limit = 1ULL << 57;

	asm volatile("" : "+r"(limit));
	return scratch != 0 && scratch < limit;
}

/*
 * The struct proto of the TCP sockets seen at socket reads (tcp_prot,
 * tcpv6_prot, their TLS and sockmap variants): a socket with one of them
 * is a TCP socket, told from sock_common's first line, which the read path
 * has touched, instead of sk_protocol and sk_type, on a line it does not
 * (4 .. 13 ns a bulk read; docs/performance.md). Learned, because a
 * __ksym address needs CAP_SYSLOG: a pointer goes in when the full check
 * first finds a TCP socket using it, and stays. Two CPUs racing for a slot
 * lose one pointer (learned again later) or rarely keep one twice (a slot
 * wasted); with the slots full, the rest take the full check: slower,
 * never wrong. A section of its own: written a few times, read on every
 * read.
 */
#define TCP_PROTS 4
__u64 tcp_prots[TCP_PROTS] SEC(".data.tcp_prots") = {};

static __always_inline bool known_tcp_prot(__u64 prot)
{
	return prot == tcp_prots[0] || prot == tcp_prots[1] ||
	       prot == tcp_prots[2] || prot == tcp_prots[3];
}

static __always_inline void remember_tcp_prot(__u64 prot)
{
	for (int i = 0; i < TCP_PROTS; i++) {
		__u64 slot = tcp_prots[i];

		/* Another CPU may have learned it since known_tcp_prot():
		 * without this look, two first reads filled all four slots
		 * with tcp_prot and tcpv6_prot twice. */
		if (slot == prot)
			return;
		if (!slot) {
			tcp_prots[i] = prot;
			return;
		}
	}
}

/*
 * IPPROTO_* of the socket an skb is read from, 0 if not TCP/UDP over IP.
 * TCP charges its skbs to the socket (skb->sk set); UDP does its own
 * accounting and leaves skb->sk NULL, so a socket-less skb is UDP's if it
 * carries UDP's scratch state. An owner that is not an inet socket
 * (AF_PACKET, AF_UNIX) is none of ours, even if the packet inside is TCP
 * or UDP, and so is a raw inet socket's.
 */
static __always_inline int skb_read_protocol(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	unsigned short family, protocol, type;
	__u64 prot;

	if (!sk && udp_scratch_known())
		return skb_queued_by_udp(skb) ? IPPROTO_UDP : 0;
	if (!sk)
		return skb_ip_protocol(skb);
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	prot = (__u64)sk->__sk_common.skc_prot;
	if (prot && known_tcp_prot(prot))
		return IPPROTO_TCP;
	/* A raw socket opened for IPPROTO_TCP or UDP reads whole packets of
	 * that protocol: neither a TCP nor a UDP read. */
	protocol = sk->sk_protocol;
	type = sk->sk_type;
	if (protocol == IPPROTO_TCP && type == SOCK_STREAM) {
		if (prot)
			remember_tcp_prot(prot);
		return protocol;
	}
	if (protocol == IPPROTO_UDP && type == SOCK_DGRAM)
		return protocol;
	return 0;
}

/* ip-start: IP layer reached (past tc ingress). */
SEC("fentry/ip_rcv_core")
int BPF_PROG(nstl_ip_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_IP_START);
	return 0;
}

SEC("fentry/ip6_rcv_core")
int BPF_PROG(nstl_ip6_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_IP_START);
	return 0;
}

/* tcp-start: local TCP stack reached. */
SEC("fentry/tcp_v4_rcv")
int BPF_PROG(nstl_tcp_v4_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_TCP_START);
	return 0;
}

SEC("fentry/tcp_v6_rcv")
int BPF_PROG(nstl_tcp_v6_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_TCP_START);
	return 0;
}

/* The seed's attach points, for kernels without the functions above. */
SEC("fentry/tcp_v4_do_rcv")
int BPF_PROG(nstl_tcp_v4_do, struct sock *sk, struct sk_buff *skb)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_TCP_START);
	return 0;
}

SEC("fentry/tcp_v6_do_rcv")
int BPF_PROG(nstl_tcp_v6_do, struct sock *sk, struct sk_buff *skb)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_TCP_START);
	return 0;
}

/* tcp_probe fires from tcp_rcv_established, inside tcp_v{4,6}_do_rcv. */
SEC("tp_btf/tcp_probe")
int BPF_PROG(nstl_tp_tcp_prb, struct sock *sk, struct sk_buff *skb)
{
	if (tcp_probe_tracks)
		note_tcp_ooo(sk);
	if (tcp_probe_counts)
		record_skb(skb, sk, NETSTACKLAT_HOOK_TCP_START);
	return 0;
}

/* udp-start: local UDP stack reached. */
SEC("fentry/udp_rcv")
int BPF_PROG(nstl_udp_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_UDP_START);
	return 0;
}

SEC("fentry/udpv6_rcv")
int BPF_PROG(nstl_udpv6_rcv, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_UDP_START);
	return 0;
}

/* tcp-socket-enqueued: at fexit the skb is on the receive queue (or merged
 * into its tail, and freed by the caller only after we return). */
SEC("fexit/tcp_queue_rcv")
int BPF_PROG(nstl_tcp_queue, struct sock *sk, struct sk_buff *skb,
	     bool *fragstolen, int eaten)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_TCP_SOCK_ENQUEUED);
	return 0;
}

SEC("fentry/tcp_data_queue")
int BPF_PROG(nstl_tcp_dataq, struct sock *sk, struct sk_buff *skb)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_TCP_SOCK_ENQUEUED);
	return 0;
}

/* udp-socket-enqueued: only a zero return means the skb was queued. */
SEC("fexit/__udp_enqueue_schedule_skb")
int BPF_PROG(nstl_udp_enq, struct sock *sk, struct sk_buff *skb, int ret)
{
	if (ret == 0)
		record_skb(skb, sk, NETSTACKLAT_HOOK_UDP_SOCK_ENQUEUED);
	return 0;
}

SEC("fentry/udp_queue_rcv_one_skb")
int BPF_PROG(nstl_udp_q_one, struct sock *sk, struct sk_buff *skb)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_UDP_SOCK_ENQUEUED);
	return 0;
}

SEC("fentry/udpv6_queue_rcv_one_skb")
int BPF_PROG(nstl_udp6_q_one, struct sock *sk, struct sk_buff *skb)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_UDP_SOCK_ENQUEUED);
	return 0;
}

/* tcp-socket-read: the timestamp of the last skb a recvmsg() consumed. */
SEC("fentry/tcp_recv_timestamp")
int BPF_PROG(nstl_tcp_read, struct msghdr *msg, struct sock *sk,
	     struct scm_timestamping_internal *tss)
{
	struct timespec64 *ts = &tss->ts[0];

	/* Called after the read: copied_seq is past the data consumed, and
	 * the queue holds what is left. */
	record_read(ts->tv_sec * NS_PER_S + ts->tv_nsec, NULL, sk,
		    NETSTACKLAT_HOOK_TCP_SOCK_READ, 0, 0, true);
	return 0;
}

/* udp-socket-read: a datagram handed to user space. */
SEC("fentry/skb_consume_udp")
int BPF_PROG(nstl_udp_read, struct sock *sk, struct sk_buff *skb, int len)
{
	/* The skb is off the queue already. */
	record_read(skb_rx_tstamp(skb, NETSTACKLAT_HOOK_UDP_SOCK_READ), skb, sk,
		    NETSTACKLAT_HOOK_UDP_SOCK_READ, 0, 0, true);
	return 0;
}

/*
 * Socket reads where fentry is refused: the tracepoint fires when an skb's
 * data is copied to user space, for every protocol. One program serves
 * both read hooks (one run per copied skb, not one per hook); hook_on[]
 * says which of them chose it. Limitation: udp_recvmsg() copies linear
 * skbs with copy_linear_skb(), which fires no tracepoint, so on such
 * kernels only datagrams held in paged skbs (NIC page frags, or > ~16 KB
 * on loopback) are seen, and of those not the ones whose checksum is
 * verified during the copy (skb_copy_and_csum_datagram_msg(): reassembled
 * fragments, no RX checksum offload); the fentry program sees them all.
 */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(nstl_tp_sk_read, const struct sk_buff *skb, int len)
{
	int protocol = skb_read_protocol(skb);
	struct sock *sk = skb->sk;

	/* TCP copies before it unlinks the skb and advances copied_seq. */
	if (protocol == IPPROTO_TCP && hook_on[NETSTACKLAT_HOOK_TCP_SOCK_READ])
		record_read(skb_rx_tstamp(skb, NETSTACKLAT_HOOK_TCP_SOCK_READ),
			    skb, sk, NETSTACKLAT_HOOK_TCP_SOCK_READ, 1, len,
			    false);
	else if (protocol == IPPROTO_UDP &&
		 hook_on[NETSTACKLAT_HOOK_UDP_SOCK_READ])
		record_read(skb_rx_tstamp(skb, NETSTACKLAT_HOOK_UDP_SOCK_READ),
			    skb, sk, NETSTACKLAT_HOOK_UDP_SOCK_READ, 0, 0,
			    false);
	return 0;
}

/* netif-receive: the core receive path picked the skb up (after RPS/backlog
 * queueing, before tc ingress); its own label, as it is none of the above. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(nstl_tp_netif, struct sk_buff *skb)
{
	record_skb(skb, NULL, NETSTACKLAT_HOOK_NETIF_RECEIVE);
	return 0;
}

/*
 * cgroup_id_map (ebpf_exporter's): cgroups created while running must be
 * matched as they appear. The kernel's cgroup tracepoints give the id and
 * the path at creation; user space matches the path and adds the id to the
 * cgroup filter (removes it at rmdir). Loaded only with a cgroup_id_map.
 */
static __always_inline int cgroup_event(struct cgroup *cgrp, const char *path,
					__u32 kind)
{
	__u32 zero = 0;
	struct nstl_cgroup_event *e;
	long len;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0; /* a cgroup v1 hierarchy */
	e = bpf_map_lookup_elem(&netstacklat_cgroup_scratch, &zero);
	if (!e)
		return 0;
	e->id = BPF_CORE_READ(cgrp, kn, id);
	e->kind = kind;
	len = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (len < 0)
		len = 0;
	if (len > NSTL_CGROUP_PATH_MAX)
		len = NSTL_CGROUP_PATH_MAX;
	e->len = len;
	if (bpf_ringbuf_output(
		    &netstacklat_cgroup_events, e,
		    __builtin_offsetof(struct nstl_cgroup_event, path) + len,
		    0))
		__sync_fetch_and_add(&cgroup_events_lost, 1);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(nstl_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_event(cgrp, path, NSTL_CGROUP_CREATED);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(nstl_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_event(cgrp, path, NSTL_CGROUP_REMOVED);
}
