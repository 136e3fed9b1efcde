#include "http/connection.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "http/client_sources.h"

namespace netstacklat {
namespace {

// After an SSL call returned r <= 0: what it waits for, or the end.
Io SslWait(SSL* ssl, int r) {
  const int err = SSL_get_error(ssl, r);
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ) return Io::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Io::kWantWrite;
  return Io::kClosed;
}

// errno after a failed recv/send on a non-blocking socket.
Io SocketWait(Io want) {
  return errno == EAGAIN || errno == EWOULDBLOCK ? want : Io::kClosed;
}

}  // namespace

Io Receive(Connection& c, char* buf, size_t len, size_t* n) {
  if (c.ssl) {
    const int r = SSL_read(c.ssl, buf, static_cast<int>(len));
    if (r <= 0) return SslWait(c.ssl, r);
    *n = static_cast<size_t>(r);
    return Io::kDone;
  }
  for (;;) {
    const ssize_t r = recv(c.fd, buf, len, 0);
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Io::kDone;
    }
    if (r < 0 && errno == EINTR) continue;
    return r == 0 ? Io::kClosed : SocketWait(Io::kWantRead);
  }
}

Io Send(Connection& c, const char* buf, size_t len, size_t* n) {
  if (c.ssl) {
    const int r = SSL_write(c.ssl, buf, static_cast<int>(std::min<size_t>(len, 1 << 30)));
    if (r <= 0) return SslWait(c.ssl, r);
    *n = static_cast<size_t>(r);
    return Io::kDone;
  }
  for (;;) {
    const ssize_t r = send(c.fd, buf, len, MSG_NOSIGNAL);
    if (r >= 0) {
      *n = static_cast<size_t>(r);
      return Io::kDone;
    }
    if (errno == EINTR) continue;
    return SocketWait(Io::kWantWrite);
  }
}

Io Discard(int fd, size_t max) {
  char buf[4096];
  for (size_t drained = 0; drained < max;) {
    const ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r > 0) {
      drained += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    return r == 0 ? Io::kClosed : SocketWait(Io::kWantRead);
  }
  return Io::kWantRead;  // more may come: on the next wake-up
}

std::string PeerSource(int fd, unsigned ipv6_prefix) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  return SourceOf(a, ipv6_prefix);
}

int Unacknowledged(int fd) {
  int n = 0;
  return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : 0;
}

void ResetOnClose(int fd) {
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
}

}  // namespace netstacklat
