#include "kernel/rx_timestamping.h"

#include <linux/net_tstamp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "base/errors.h"

namespace netstacklat {

RxTimestamping::RxTimestamping() {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw StartupError("RX timestamping socket: " + ErrnoText(errno));
  const int flags = SOF_TIMESTAMPING_RX_SOFTWARE;
  if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) != 0) {
    const int err = errno;
    close(fd_);
    throw StartupError("enabling software RX timestamps: " + ErrnoText(err));
  }
}

RxTimestamping::~RxTimestamping() {
  close(fd_);
}

}  // namespace netstacklat
