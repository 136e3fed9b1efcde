// CLOCK_TAI - CLOCK_REALTIME. The BPF programs read the TAI clock (the only
// wall clock they have) and skb->tstamp is CLOCK_REALTIME; the offset
// changes with leap seconds and when NTP sets it after boot.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace netstacklat {

// In ns; nullopt if the clocks cannot be read.
std::optional<int64_t> ReadTaiOffsetNs();

// Keeps the BPF programs' copy of the offset current: Refresh() at start
// and every minute or so (leap seconds, NTP setting it late).
class TaiOffsetKeeper {
 public:
  explicit TaiOffsetKeeper(std::function<void(int64_t ns)> set) : set_(std::move(set)) {}
  void Refresh();

 private:
  std::function<void(int64_t)> set_;
  int64_t current_ = 0;
};

}  // namespace netstacklat
