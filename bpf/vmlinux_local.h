/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few kernel types the BPF program touches, written by hand (as upstream
 * netstacklat does) instead of a generated vmlinux.h. Every struct carries
 * preserve_access_index, so each field access becomes a CO-RE relocation that
 * libbpf resolves against the running kernel's BTF at load time: field order,
 * offsets and the other fields do not matter here, only names and types.
 * This keeps the build independent of the build machine's kernel.
 */
#ifndef NETSTACKLAT_VMLINUX_LOCAL_H
#define NETSTACKLAT_VMLINUX_LOCAL_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u64 u64;
typedef __s64 ktime_t;
typedef _Bool bool;
#define true 1
#define false 0

/* UAPI constants (stable ABI) used by the map definitions. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_SK_STORAGE = 24,
	BPF_MAP_TYPE_RINGBUF = 27,
};

#define BPF_F_NO_PREALLOC 1
#define BPF_SK_STORAGE_GET_F_CREATE 1

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1 /* enum in include/net/tcp_states.h (stable) */
#define TCP_CLOSE_WAIT 8

#pragma clang attribute push(__attribute__((preserve_access_index)),           \
			     apply_to = record)

struct ns_common {
	unsigned int inum;
};

/* A cgroup's id is its kernfs node's (bpf_get_current_cgroup_id()); v2
 * is the hierarchy whose id is 0. */
struct kernfs_node {
	u64 id;
};

struct cgroup_root {
	int hierarchy_id;
};

struct cgroup {
	struct kernfs_node *kn;
	struct cgroup_root *root;
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	possible_net_t nd_net;
	int ifindex;
};

/* The reading task's network namespace (socket reads without a socket). */
struct nsproxy {
	struct net *net_ns;
};

struct task_struct {
	struct nsproxy *nsproxy;
};

struct in6_addr {
	__u8 s6_addr[16];
};

/* The address and port fields sit in anonymous unions in the kernel;
 * CO-RE finds them there by name. */
struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state; /* TCP_ESTABLISHED etc. */
	possible_net_t skc_net;
	struct proto *skc_prot;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sk_buff;

struct sk_buff_head {
	__u32 qlen;
};

struct sock {
	struct sock_common __sk_common;
	__u16 sk_type; /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW */
	__u16 sk_protocol;
	int sk_rx_dst_ifindex;
	struct sk_buff_head sk_receive_queue;
	struct {
		struct sk_buff *tail;
	} sk_backlog;
};

struct rb_node;

struct rb_root {
	struct rb_node *rb_node;
};

/* The receive-side sequence state, for the head-of-line blocking filter. */
struct tcp_sock {
	__u32 rcv_nxt;
	__u32 copied_seq;
	__u32 rcv_ooopack;    /* out-of-order segments received (since 5.4) */
	__u32 rcv_wup;	      /* rcv_nxt at the last window update */
	__u32 rcv_wnd;	      /* the receive window advertised then */
	__u64 bytes_received; /* rcv_nxt - bytes_received: the peer's ISN + 1 */
	struct rb_root out_of_order_queue;
	struct sk_buff *ooo_last_skb;
};

/* UDP readers take datagrams from reader_queue, which is refilled from
 * sk_receive_queue in bulk: the queue length is the sum of the two. */
struct udp_sock {
	struct sk_buff_head reader_queue;
};

/* What UDP keeps in skb->dev_scratch from the moment it queues a datagram
 * (udp_set_dev_scratch(), Linux 4.13; 64-bit layout): the first cache line
 * of the skb, which its reader touches anyway. */
struct udp_dev_scratch {
	__u32 _tsize_state;
	__u16 len; /* skb->len */
	bool is_linear;
	bool csum_unnecessary;
};

struct sk_buff {
	ktime_t tstamp;
	char cb[48]; /* TCP: struct tcp_skb_cb, whose seq and end_seq lead */
	struct sock *sk;
	struct net_device *dev;
	unsigned long dev_scratch; /* a union with dev: see udp_dev_scratch */
	unsigned int len;
	int skb_iif;
	__be16 protocol;
	__u16 transport_header;
	__u16 network_header;
	unsigned char *head;
	unsigned char *data;
};

/*
 * Bitfields that mark skb->tstamp as not an RX timestamp. Kernels >= 6.11
 * have tstamp_type (commit 4d25ca2d6801 "net: Rename mono_delivery_time to
 * tstamp_type for scalabilty"); 5.18 .. 6.10 have mono_delivery_time.
 */
/*
 * The interface a socket's packets arrive on: struct sock's
 * sk_rx_dst_ifindex since it moved there (Linux 5.16, "inet: move
 * inet->rx_dst_ifindex to sk->sk_rx_dst_ifindex"), inet_sock's
 * rx_dst_ifindex before (struct inet_sock starts with its struct sock).
 */
struct inet_sock___old {
	int rx_dst_ifindex;
};

struct sk_buff___new {
	__u8 tstamp_type : 2;
};

struct sk_buff___old {
	__u8 mono_delivery_time : 1;
};

struct timespec64 {
	__s64 tv_sec;
	long tv_nsec;
};

struct scm_timestamping_internal {
	struct timespec64 ts[3];
};

struct msghdr;
struct net;
struct net_device;
struct packet_type;

#pragma clang attribute pop

#endif /* NETSTACKLAT_VMLINUX_LOCAL_H */
