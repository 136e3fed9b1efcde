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
