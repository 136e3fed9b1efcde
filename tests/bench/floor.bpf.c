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

char LICENSE[] SEC("license") = "GPL";

#define FLOOR(name, sec)                                                       \
	SEC(sec)                                                               \
	int BPF_PROG(name)                                                     \
	{                                                                      \
		return 0;                                                      \
	}

FLOOR(nstlb_ip_rcv, "fentry/ip_rcv_core")
FLOOR(nstlb_ip6_rcv, "fentry/ip6_rcv_core")
FLOOR(nstlb_tcp_v4_rcv, "fentry/tcp_v4_rcv")
FLOOR(nstlb_tcp_v6_rcv, "fentry/tcp_v6_rcv")
FLOOR(nstlb_tcp_v4_do, "fentry/tcp_v4_do_rcv")
FLOOR(nstlb_tcp_v6_do, "fentry/tcp_v6_do_rcv")
FLOOR(nstlb_tp_tcp_prb, "tp_btf/tcp_probe")
FLOOR(nstlb_udp_rcv, "fentry/udp_rcv")
FLOOR(nstlb_udpv6_rcv, "fentry/udpv6_rcv")
FLOOR(nstlb_tcp_queue, "fexit/tcp_queue_rcv")
FLOOR(nstlb_tcp_dataq, "fentry/tcp_data_queue")
FLOOR(nstlb_udp_enq, "fexit/__udp_enqueue_schedule_skb")
FLOOR(nstlb_udp_q_one, "fentry/udp_queue_rcv_one_skb")
FLOOR(nstlb_udp6_q_one, "fentry/udpv6_queue_rcv_one_skb")
FLOOR(nstlb_tcp_read, "fentry/tcp_recv_timestamp")
FLOOR(nstlb_udp_read, "fentry/skb_consume_udp")
FLOOR(nstlb_tp_copy, "tp_btf/skb_copy_datagram_iovec")
FLOOR(nstlb_tp_netif, "tp_btf/netif_receive_skb")
