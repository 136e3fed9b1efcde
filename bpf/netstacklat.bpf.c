// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netstacklat: latency from the kernel's RX software timestamp (skb->tstamp)
 * to points along the receive path, as log2 histograms in one per-CPU hash
 * (the layout of upstream netstacklat, readable by ebpf_exporter too).
 *
 * Each logical hook has several programs: the fentry/fexit ones (upstream's
 * attach points, then the seed's) and BTF tracepoints for kernels that refuse
 * fentry. The daemon probes each one and autoloads only the first that works
 * per hook (see daemon/hooks.cpp), so a program here never needs to know
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
 * CLOCK_TAI - CLOCK_REALTIME in ns. skb->tstamp is CLOCK_REALTIME but BPF
 * only has a TAI clock for wall time; the daemon writes the offset here (a
 * .bss variable, so it can refresh it after a leap second without a reload).
 */
__s64 tai_offset_ns = 0;

/*
 * Which hooks are attached, set by the daemon before load. Only programs
 * shared by several hooks look at it; it is read-only data, so the
 * verifier drops the branches of hooks that are off: no cost per event.
 */
const volatile __u8 hook_on[NETSTACKLAT_HOOK_MAX] = {};

/*
 * Without grouping the key space is tiny and fixed (hook x slot), so the
 * histogram is a per-CPU array indexed by hook whose value holds all the
 * slots of that hook: one array lookup per sample (no key hashing, no
 * lookup-or-insert), and no atomics, as the value is per CPU. The daemon
 * turns each (hook, slot) into upstream's hist_key when it reads the map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSTACKLAT_HOOK_MAX);
	__type(key, __u32);
	__type(value, struct hook_hist);
} netstack_latency_seconds SEC(".maps");

/*
 * Filters and grouping (struct netstacklat_config in netstacklat.h). In
 * .bss, not .rodata, so the daemon can change them on reload without
 * reloading the programs.
 */
struct netstacklat_config netstacklat_cfg = {};

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
 * samples go to a per-CPU hash in upstream's layout, sized by the daemon
 * from the config; samples that find it full are counted, not lost
 * silently.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct hist_key);
	__type(value, __u64);
} netstack_latency_grouped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} netstacklat_drops SEC(".maps");

static __always_inline bool is_socket_read(enum netstacklat_hook hook)
{
	return hook == NETSTACKLAT_HOOK_TCP_SOCK_READ ||
	       hook == NETSTACKLAT_HOOK_UDP_SOCK_READ;
}

/* The network namespace of a sample (inode), 0 if it cannot be told. */
static __always_inline __u64 sample_netns(const struct sk_buff *skb,
					  struct sock *sk)
{
	if (sk)
		return sk->__sk_common.skc_net.net->ns.inum;
	if (skb)
		return skb->dev->nd_net.net->ns.inum;
	return 0;
}

static __always_inline __u32 sample_ifindex(const struct sk_buff *skb,
					    struct sock *sk)
{
	if (skb)
		return skb->skb_iif;
	return sk ? sk->sk_rx_dst_ifindex : 0;
}

/*
 * Before the clock is read: a filtered-out sample costs a few loads. The
 * process (pid, cgroup) is only known where user space reads a socket.
 */
static __always_inline bool selected(const struct sk_buff *skb, struct sock *sk,
				     enum netstacklat_hook hook)
{
	if (netstacklat_cfg.netns_inum) {
		__u64 netns = sample_netns(skb, sk);

		if (netns && netns != netstacklat_cfg.netns_inum)
			return false;
	}
	if (netstacklat_cfg.filter_ifindex) {
		__u32 ifindex = sample_ifindex(skb, sk);

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

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *drops = bpf_map_lookup_elem(&netstacklat_drops, &zero);

	if (drops)
		(*drops)++;
}

static __always_inline void grouped_add(struct hist_key *key, __u64 n)
{
	__u64 *slot = bpf_map_lookup_elem(&netstack_latency_grouped, key);

	if (slot) {
		*slot += n; /* per-CPU value: no atomic needed */
		return;
	}
	/* First sample of this key on any CPU; a racing creator wins. */
	if (bpf_map_update_elem(&netstack_latency_grouped, key, &n,
				BPF_NOEXIST) == 0)
		return;
	slot = bpf_map_lookup_elem(&netstack_latency_grouped, key);
	if (slot)
		*slot += n;
	else
		count_drop(); /* the map is full */
}

static __always_inline void record_grouped(__u64 latency_ns,
					   const struct sk_buff *skb,
					   struct sock *sk,
					   enum netstacklat_hook hook)
{
	struct hist_key key = {
		.hook = hook,
		.bucket = hist_bucket_index(latency_ns),
	};

	if (netstacklat_cfg.groupby_ifindex)
		key.ifindex = sample_ifindex(skb, sk);
	if (netstacklat_cfg.groupby_cgroup && is_socket_read(hook))
		key.cgroup = bpf_get_current_cgroup_id();
	grouped_add(&key, 1);
	key.bucket = HIST_SUM_SLOT;
	grouped_add(&key, latency_ns);
}

static __always_inline void record_latency(__u64 latency_ns,
					   const struct sk_buff *skb,
					   struct sock *sk,
					   enum netstacklat_hook hook)
{
	__u32 key = hook;
	struct hook_hist *hist;

	if (netstacklat_cfg.groupby_ifindex || netstacklat_cfg.groupby_cgroup) {
		record_grouped(latency_ns, skb, sk, hook);
		return;
	}
	hist = bpf_map_lookup_elem(&netstack_latency_seconds, &key);
	if (!hist)
		return;
	hist->slots[hist_bucket_index(latency_ns)]++;
	hist->slots[HIST_SUM_SLOT] += latency_ns;
}

static __always_inline void record(__s64 tstamp_ns, const struct sk_buff *skb,
				   struct sock *sk, enum netstacklat_hook hook)
{
	__s64 now;

	if (tstamp_ns <= 0 || !selected(skb, sk, hook))
		return;
	now = bpf_ktime_get_tai_ns() - tai_offset_ns;
	/* A timestamp from the future means a clock step: not a latency. */
	if (now < tstamp_ns)
		return;
	record_latency(now - tstamp_ns, skb, sk, hook);
}

/*
 * skb->tstamp may hold a preserved TX/delivery time (forwarded or looped
 * packets); only CLOCK_REALTIME RX stamps are latencies from RX.
 */
static __always_inline bool tstamp_is_rx(const struct sk_buff *skb)
{
	if (bpf_core_field_exists(struct sk_buff___new, tstamp_type))
		return BPF_CORE_READ_BITFIELD((struct sk_buff___new *)skb,
					      tstamp_type) == 0;
	if (bpf_core_field_exists(struct sk_buff___old, mono_delivery_time))
		return BPF_CORE_READ_BITFIELD((struct sk_buff___old *)skb,
					      mono_delivery_time) == 0;
	return true;
}

static __always_inline void record_skb(const struct sk_buff *skb,
				       struct sock *sk,
				       enum netstacklat_hook hook)
{
	/* Direct BTF reads: fentry and tp_btf arguments are typed pointers. */
	ktime_t tstamp = skb->tstamp;

	if (tstamp <= 0 || !tstamp_is_rx(skb))
		return;
	record(tstamp, skb, sk, hook);
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
 * IPPROTO_* of the socket an skb is read from, 0 if not TCP/UDP over IP.
 * TCP charges its skbs to the socket (skb->sk set); UDP does its own
 * accounting and leaves skb->sk NULL, so its protocol comes from the IP
 * header. An owner that is not an inet socket (AF_PACKET, AF_UNIX) is
 * none of ours, even if the packet inside is TCP or UDP.
 */
static __always_inline int skb_read_protocol(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	unsigned short family;

	if (!sk)
		return skb_ip_protocol(skb);
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	return sk->sk_protocol;
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

	record(ts->tv_sec * NS_PER_S + ts->tv_nsec, NULL, sk,
	       NETSTACKLAT_HOOK_TCP_SOCK_READ);
	return 0;
}

/* udp-socket-read: a datagram handed to user space. */
SEC("fentry/skb_consume_udp")
int BPF_PROG(nstl_udp_read, struct sock *sk, struct sk_buff *skb, int len)
{
	record_skb(skb, sk, NETSTACKLAT_HOOK_UDP_SOCK_READ);
	return 0;
}

/*
 * Socket reads where fentry is refused: the tracepoint fires when an skb's
 * data is copied to user space, for every protocol. One program serves
 * both read hooks (one run per copied skb, not one per hook); hook_on[]
 * says which of them chose it. Limitation: udp_recvmsg() copies linear
 * skbs with copy_linear_skb(), which fires no tracepoint, so on such
 * kernels only datagrams held in paged skbs (NIC page frags, or > ~16 KB
 * on loopback) are seen; the fentry program sees them all.
 */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(nstl_tp_sk_read, const struct sk_buff *skb, int len)
{
	int protocol = skb_read_protocol(skb);

	if (protocol == IPPROTO_TCP && hook_on[NETSTACKLAT_HOOK_TCP_SOCK_READ])
		record_skb(skb, skb->sk, NETSTACKLAT_HOOK_TCP_SOCK_READ);
	else if (protocol == IPPROTO_UDP &&
		 hook_on[NETSTACKLAT_HOOK_UDP_SOCK_READ])
		record_skb(skb, skb->sk, NETSTACKLAT_HOOK_UDP_SOCK_READ);
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
