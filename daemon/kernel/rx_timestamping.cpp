#include "kernel/rx_timestamping.h"

#include <linux/net_tstamp.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/errors.h"

namespace netstacklat {

RxTimestamping::RxTimestamping() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
  if (!fd_.valid()) throw StartupError("RX timestamping socket: " + ErrnoText(errno));
  const int flags = SOF_TIMESTAMPING_RX_SOFTWARE;
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) != 0)
    throw StartupError("enabling software RX timestamps: " + ErrnoText(errno));
}

}  // namespace netstacklat
