#include "ops/signals.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "base/errors.h"
#include "base/unique_fd.h"

namespace netstacklat {
namespace {

struct timespec Timespec(double seconds) {
  const auto whole = static_cast<time_t>(seconds);
  return {whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
}

double MonotonicNow() {
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer gone mid-write is an error to handle, not a reason to die:
  // OpenSSL writes TLS 1.3 session tickets with write(), so a client that
  // closed right after its handshake killed the daemon with SIGPIPE (systemd
  // ignores it for services; a plain start or a container did not).
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

bool SleepUnlessTerminated(double seconds, const sigset_t& signals) {
  const double until = MonotonicNow() + seconds;
  for (double left = seconds; left > 0; left = until - MonotonicNow()) {
    const struct timespec wait = Timespec(left);
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) return true;
  }
  return false;
}

int WaitForTermination(const std::function<void()>& reload, const std::function<void()>& tick,
                       double tick_seconds, const sigset_t& signals, const WatchedFd& watched) {
  // The signals (blocked, so they wait in the signalfd) and the watched fd
  // in one poll.
  const UniqueFd sigfd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd.valid()) throw StartupError("signalfd: " + ErrnoText(errno));
  struct pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {watched.fd, POLLIN, 0}};
  const nfds_t nfds = watched.fd >= 0 ? 2 : 1;
  // The tick keeps its schedule whatever signals arrive: waiting a whole
  // tick after each signal let a SIGHUP every few ms starve it (no report
  // printed, the TAI offset never refreshed).
  double next_tick = MonotonicNow() + tick_seconds;
  for (;;) {
    const double now = MonotonicNow();
    if (now >= next_tick) {
      tick();
      next_tick += tick_seconds;
      if (next_tick <= now) next_tick = now + tick_seconds;  // it fell behind: no burst
      continue;
    }
    const struct timespec timeout = Timespec(next_tick - now);
    const int ready = ppoll(fds, nfds, &timeout, nullptr);
    if (ready < 0 && errno != EINTR) {
      // Not expected with fds of its own; sleeping out the wait keeps a
      // lasting failure from spinning a core until the next tick.
      nanosleep(&timeout, nullptr);
      continue;
    }
    if (ready <= 0) continue;  // the tick, or a signal outside the set
    if (nfds == 2 && (fds[1].revents & POLLIN)) watched.ready();
    struct signalfd_siginfo info {};
    if (!(fds[0].revents & POLLIN) || read(sigfd.get(), &info, sizeof(info)) != sizeof(info))
      continue;
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGINT || sig == SIGTERM) return sig;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      reload();
      sd_notify(0, "READY=1");
    }
  }
}

}  // namespace netstacklat
