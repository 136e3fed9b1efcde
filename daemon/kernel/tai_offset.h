// CLOCK_TAI - CLOCK_REALTIME. The BPF programs read the TAI clock (the only
// wall clock they have) and skb->tstamp is CLOCK_REALTIME; the offset
// changes with leap seconds and when NTP sets it after boot.
#pragma once

#include <cstdint>
#include <optional>

namespace netstacklat {

// In ns; nullopt if the clocks cannot be read.
std::optional<int64_t> ReadTaiOffsetNs();

}  // namespace netstacklat
