// Keeps software RX timestamping on: while one socket asks for
// SOF_TIMESTAMPING_RX_SOFTWARE, the kernel stamps every received skb
// (skb->tstamp), which is what the BPF programs measure from.
#pragma once

namespace netstacklat {

class RxTimestamping {
 public:
  RxTimestamping();  // throws StartupError
  ~RxTimestamping();
  RxTimestamping(const RxTimestamping&) = delete;
  RxTimestamping& operator=(const RxTimestamping&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace netstacklat
