// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The floor for the per-event cost benchmark: an empty program on each
 * attach point that netstacklat.bpf.c uses. Under kernel.bpf_stats_enabled
 * the kernel charges each program its own run time, so an empty program on
 * the same hook, in the same run, shows what attaching anything costs.
 */
#include "vmlinux_local.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "netstacklat.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Per attach point, three programs that split our per-event cost:
 * nstlb_* the empty floor, nstlc_* only the clock read our programs make
 * (bpf_ktime_get_tai_ns), nstlk_* the monotonic clock instead
 * (bpf_ktime_get_ns: would an offset to it be cheaper?), nstlm_* only the
 * histogram update (one per-CPU
 * array lookup and two increments), nstln_* the necessary work: what no
 * histogram of RX-timestamp latency can avoid (read skb->tstamp, skip it
 * if unset or not an RX timestamp, read the TAI clock, compute the bucket,
 * bump one per-CPU slot and the sum). Ours against the floor and against
 * the necessary work, same hook, same run, shows where the nanoseconds go.
 */
__u64 clock_sink;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hook_hist);
} map_only SEC(".maps");

__s64 tai_offset_ns;

static __always_inline void necessary(__s64 tstamp)
{
	__u32 key = 0;
	struct hook_hist *h;
	__s64 now;

	if (tstamp <= 0)
		return;
	now = bpf_ktime_get_tai_ns() - tai_offset_ns;
	if (now < tstamp)
		return;
	h = bpf_map_lookup_elem(&map_only, &key);
	if (h) {
		h->slots[hist_bucket_index(now - tstamp)]++;
		h->slots[HIST_SUM_SLOT] += now - tstamp;
	}
}

/*
 * skb->tstamp if it is an RX timestamp, else 0: a check no correct
 * histogram can skip (upstream netstacklat has it too). A looped or
 * forwarded skb may carry its sender's delivery time instead, flagged from
 * Linux 5.18 on; IP's local delivery clears such stamps, so only attach
 * points before it (before_delivery) must read the flag. Without the flag
 * (older kernels) the magnitude tells. As netstacklat.bpf.c's
 * skb_rx_tstamp(): the reference drops what ours must drop (TCP on
 * loopback at netif_receive_skb carries its EDT delivery time).
 */
static __always_inline __s64 rx_tstamp(const struct sk_buff *skb,
				       bool before_delivery)
{
	__s64 tstamp = skb->tstamp;
	bool delivery_time;

	if (tstamp <= 0)
		return 0;
	if (bpf_core_field_exists(struct sk_buff___new, tstamp_type))
		delivery_time = before_delivery &&
				BPF_CORE_READ_BITFIELD(
					(struct sk_buff___new *)skb, tstamp_type);
	else if (bpf_core_field_exists(struct sk_buff___old,
				       mono_delivery_time))
		delivery_time = before_delivery &&
				BPF_CORE_READ_BITFIELD(
					(struct sk_buff___old *)skb,
					mono_delivery_time);
	else
		delivery_time = !nstl_tstamp_looks_realtime(tstamp);
	return delivery_time ? 0 : tstamp;
}

/* skb: the index of the sk_buff argument of the attach point; rx: 1 where
 * the attach point is before IP's local delivery (see rx_tstamp()). */
#define NECESSARY(name, sec, skb, rx)                                          \
	SEC(sec)                                                               \
	int BPF_PROG(nstln_##name)                                             \
	{                                                                      \
		necessary(rx_tstamp((struct sk_buff *)ctx[skb], rx));          \
		return 0;                                                      \
	}

#define FLOOR_ONLY(name, sec)                                                  \
	SEC(sec)                                                               \
	int BPF_PROG(nstlb_##name)                                             \
	{                                                                      \
		return 0;                                                      \
	}                                                                      \
	SEC(sec)                                                               \
	int BPF_PROG(nstlc_##name)                                             \
	{                                                                      \
		clock_sink = bpf_ktime_get_tai_ns();                           \
		return 0;                                                      \
	}                                                                      \
	SEC(sec)                                                               \
	int BPF_PROG(nstlk_##name)                                             \
	{                                                                      \
		clock_sink = bpf_ktime_get_ns();                               \
		return 0;                                                      \
	}                                                                      \
	SEC(sec)                                                               \
	int BPF_PROG(nstlm_##name)                                             \
	{                                                                      \
		__u32 key = 0;                                                 \
		struct hook_hist *h = bpf_map_lookup_elem(&map_only, &key);    \
                                                                               \
		if (h) {                                                       \
			h->slots[12]++;                                        \
			h->slots[HIST_SUM_SLOT] += 4096;                       \
		}                                                              \
		return 0;                                                      \
	}

#define FLOOR(name, sec, skb, rx)                                              \
	NECESSARY(name, sec, skb, rx)                                          \
	FLOOR_ONLY(name, sec)

FLOOR(ip_rcv, "fentry/ip_rcv_core", 0, 1)
FLOOR(ip6_rcv, "fentry/ip6_rcv_core", 0, 1)
FLOOR(tcp_v4_rcv, "fentry/tcp_v4_rcv", 0, 0)
FLOOR(tcp_v6_rcv, "fentry/tcp_v6_rcv", 0, 0)
FLOOR(tcp_v4_do, "fentry/tcp_v4_do_rcv", 1, 0)
FLOOR(tcp_v6_do, "fentry/tcp_v6_do_rcv", 1, 0)
FLOOR(tp_tcp_prb, "tp_btf/tcp_probe", 1, 0)
FLOOR(udp_rcv, "fentry/udp_rcv", 0, 0)
FLOOR(udpv6_rcv, "fentry/udpv6_rcv", 0, 0)
FLOOR(tcp_queue, "fexit/tcp_queue_rcv", 1, 0)
FLOOR(tcp_dataq, "fentry/tcp_data_queue", 1, 0)
FLOOR(udp_enq, "fexit/__udp_enqueue_schedule_skb", 1, 0)
FLOOR(udp_q_one, "fentry/udp_queue_rcv_one_skb", 1, 0)
FLOOR(udp6_q_one, "fentry/udpv6_queue_rcv_one_skb", 1, 0)
FLOOR_ONLY(tcp_read, "fentry/tcp_recv_timestamp")

/* tcp_recv_timestamp(msg, sk, tss): the timestamp is tss->ts[0]. */
SEC("fentry/tcp_recv_timestamp")
int BPF_PROG(nstln_tcp_read, struct msghdr *msg, struct sock *sk,
	     struct scm_timestamping_internal *tss)
{
	necessary(tss->ts[0].tv_sec * 1000000000LL + tss->ts[0].tv_nsec);
	return 0;
}
FLOOR(udp_read, "fentry/skb_consume_udp", 1, 0)
FLOOR(tp_copy, "tp_btf/skb_copy_datagram_iovec", 0, 0)
FLOOR(tp_netif, "tp_btf/netif_receive_skb", 0, 1)

/*
 * The socket-read tracepoint's extra work, one piece at a time, each on top
 * of the necessary work (so ours - necessary splits into these):
 * nstlh_ the head-of-line filter's load of tcp_sock.rcv_ooopack (a probe
 * read: skb->sk is an RCU pointer here), nstlp_ the IP header's protocol
 * byte (how a socket-less UDP skb is told from others), nstlt_ the reading
 * task's network namespace (the namespace filter without a socket).
 */
__u32 part_sink;

static __always_inline __s64 tstamp_of(const struct sk_buff *skb)
{
	return rx_tstamp(skb, false);
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(nstlh_tp_copy, const struct sk_buff *skb, int len)
{
	struct sock *sk = skb->sk;

	if (sk)
		part_sink += BPF_CORE_READ((struct tcp_sock *)sk, rcv_ooopack);
	necessary(tstamp_of(skb));
	return 0;
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(nstlp_tp_copy, const struct sk_buff *skb, int len)
{
	const unsigned char *nh = skb->head + skb->network_header;
	__u8 proto = 0;

	bpf_probe_read_kernel(&proto, sizeof(proto), nh + 9);
	part_sink += proto;
	necessary(tstamp_of(skb));
	return 0;
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(nstlt_tp_copy, const struct sk_buff *skb, int len)
{
	struct nsproxy *ns = bpf_get_current_task_btf()->nsproxy;

	if (ns)
		part_sink += ns->net_ns->ns.inum;
	necessary(tstamp_of(skb));
	return 0;
}
