// Keeps software RX timestamping on: while one socket asks for
// SOF_TIMESTAMPING_RX_SOFTWARE, the kernel stamps every received skb
// (skb->tstamp), which is what the BPF programs measure from.
#pragma once

#include "base/unique_fd.h"

namespace netstacklat {

class RxTimestamping {
 public:
  RxTimestamping();  // throws StartupError

 private:
  UniqueFd fd_;
};

}  // namespace netstacklat
