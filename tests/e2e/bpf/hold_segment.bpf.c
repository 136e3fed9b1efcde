// SPDX-License-Identifier: GPL-2.0
/*
 * Head-of-line blocking without tc netem (which some kernels lack): an XDP
 * program on the receiving veth drops one TCP data segment to port 7000 in
 * every HOLD_EVERY, and its first retransmission too, so the hole stays
 * open until the sender's retransmission timer (200 ms or more): every
 * segment sent meanwhile waits out of order behind it. IPv4 only, as the
 * test's traffic. Loaded with `ip link set DEV xdpgeneric obj ... sec xdp`.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define HOLD_PORT 7000
#define HOLD_EVERY 16

char LICENSE[] SEC("license") = "GPL";

__u32 data_segments = 0;
__u32 held_seq = 0;
__u32 retransmits_to_drop = 0;

SEC("xdp")
int hold_segment(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 payload;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP ||
	    ip->ihl != 5)
		return XDP_PASS;
	tcp = (void *)(ip + 1);
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(HOLD_PORT))
		return XDP_PASS;
	payload = bpf_ntohs(ip->tot_len) - sizeof(*ip) - tcp->doff * 4;
	if (payload == 0 || payload > 65535)
		return XDP_PASS;
	if (retransmits_to_drop && tcp->seq == held_seq) {
		retransmits_to_drop--;
		return XDP_DROP;
	}
	if (++data_segments % HOLD_EVERY)
		return XDP_PASS;
	held_seq = tcp->seq;
	retransmits_to_drop = 1;
	return XDP_DROP;
}
