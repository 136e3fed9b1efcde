#include "ops/signals.h"

#include <systemd/sd-daemon.h>

#include <csignal>
#include <ctime>

namespace netstacklat {
namespace {

struct timespec Timespec(double seconds) {
  const auto whole = static_cast<time_t>(seconds);
  return {whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
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
  const struct timespec wait = Timespec(seconds);
  const int sig = sigtimedwait(&signals, nullptr, &wait);
  return sig == SIGINT || sig == SIGTERM;
}

int WaitForTermination(const std::function<void()>& reload, const std::function<void()>& tick,
                       double tick_seconds, const sigset_t& signals) {
  for (;;) {
    const struct timespec timeout = Timespec(tick_seconds);
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) return sig;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      reload();
      sd_notify(0, "READY=1");
    }
    if (sig < 0) tick();
  }
}

}  // namespace netstacklat
