#include "tai_offset.h"

#include <sys/timex.h>

namespace netstacklat {

std::optional<int64_t> ReadTaiOffsetNs() {
  struct timex tx = {};  // modes = 0: read only
  if (adjtimex(&tx) < 0) return std::nullopt;
  return static_cast<int64_t>(tx.tai) * 1000000000LL;
}

}  // namespace netstacklat
