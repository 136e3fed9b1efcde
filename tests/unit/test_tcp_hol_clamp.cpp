// The head-of-line filter's end of out-of-order data, as the BPF program
// takes it from an skb pointer read without the socket lock
// (tcp_ooo_end in netstacklat.h, compiled by both).
#include <catch2/catch.hpp>

#include "netstacklat.h"

namespace {
constexpr __u32 kRcvNxt = 1000000;
constexpr __u32 kRcvWup = 990000;
constexpr __u32 kRcvWnd = 65536;  // the window ends at 1,055,536
constexpr __u32 kWindowEnd = kRcvWup + kRcvWnd;
}  // namespace

TEST_CASE("a valid end of out-of-order data inside the window is kept") {
  CHECK(tcp_ooo_end(kRcvNxt + 1, kRcvNxt, kRcvWup, kRcvWnd) == kRcvNxt + 1);
  CHECK(tcp_ooo_end(kWindowEnd, kRcvNxt, kRcvWup, kRcvWnd) == kWindowEnd);
}

TEST_CASE("a freed skb's zeroed end_seq is not taken for an end") {
  // Unclamped, 0 lies 2^32 - 10^6 ahead modulo 2^32: about 4 GB of later
  // reads (half of them ahead) would be left out of the histogram.
  CHECK(tcp_ooo_end(0, kRcvNxt, kRcvWup, kRcvWnd) == kWindowEnd);
}

TEST_CASE("garbage beyond the receive window is clamped to its end") {
  CHECK(tcp_ooo_end(kWindowEnd + 1, kRcvNxt, kRcvWup, kRcvWnd) == kWindowEnd);
  CHECK(tcp_ooo_end(kRcvNxt + (1u << 31) - 1, kRcvNxt, kRcvWup, kRcvWnd) == kWindowEnd);
}

TEST_CASE("a window that rcv_nxt has passed ends at rcv_nxt") {
  // A zero window (or one not updated since rcv_nxt moved): nothing beyond
  // rcv_nxt can have been accepted.
  CHECK(tcp_ooo_end(kRcvNxt + 5000, kRcvNxt, kRcvWup, 0) == kRcvNxt);
  CHECK(tcp_ooo_end(0, kRcvNxt, kRcvWup, 0) == kRcvNxt);
}

TEST_CASE("the clamp holds across the 2^32 wrap of sequence numbers") {
  const __u32 nxt = 0xfffff000u;  // the window wraps past 0
  const __u32 wup = 0xffffe000u;
  const __u32 end = wup + kRcvWnd;                                    // 0x0000e000
  CHECK(tcp_ooo_end(0x00001000u, nxt, wup, kRcvWnd) == 0x00001000u);  // wrapped, inside
  CHECK(tcp_ooo_end(0x00100000u, nxt, wup, kRcvWnd) == end);          // beyond
  CHECK(tcp_ooo_end(0, nxt, wup, kRcvWnd) == end);
}

// Positions (tcp_stream_pos): the head-of-line state's end of out-of-order
// data, which reads may pass unchecked for any length of stream.
TEST_CASE("a stream position does not wrap where sequence numbers do") {
  const __u64 received = (5ull << 32) + 100;  // 20 GB in: rcv_nxt = isn + 100 + 1 (mod 2^32)
  const __u32 nxt = 0x00000064u;
  CHECK(tcp_stream_pos(nxt, nxt, received) == received);
  CHECK(tcp_stream_pos(nxt + 5000, nxt, received) == received + 5000);  // out of order, ahead
  CHECK(tcp_stream_pos(0xffffff00u, nxt, received) == received - 356);  // being read, behind
}

TEST_CASE("an end of out-of-order data passed by more than 2 GB stays behind") {
  // The state was set at position P; the socket has since received 3 GB,
  // unchecked. As sequence numbers the old end looks 1 GB ahead of the
  // read; as positions it is 3 GB behind.
  const __u32 end_seq = 0x10000000u;
  const __u64 end_pos = tcp_stream_pos(end_seq, end_seq, 1ull << 32);
  const __u32 nxt = end_seq + (3u << 30);
  const __u64 received = (1ull << 32) + (3ull << 30);
  CHECK(tcp_seq_before(nxt, end_seq));  // what the sequence numbers say
  CHECK(end_pos < tcp_stream_pos(nxt, nxt, received));
}
