// Signals, taken synchronously by the main thread: SIGINT and SIGTERM stop
// the daemon, SIGHUP reloads; every other thread has them blocked, so none
// of them runs a handler. SIGPIPE is ignored.
#pragma once

#include <signal.h>

#include <functional>

namespace netstacklat {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and in every
// thread it starts later (call it before any), ignores SIGPIPE, and
// returns the blocked set for the waits below.
sigset_t BlockSignals();

// Waits `seconds` (a SIGHUP does not cut it short); true if SIGINT or
// SIGTERM did.
bool SleepUnlessTerminated(double seconds, const sigset_t& signals);

// A file descriptor waited on beside the signals: `ready` runs whenever it
// is readable (and must make it not readable).
struct WatchedFd {
  int fd = -1;
  std::function<void()> ready;
};

// Until SIGINT or SIGTERM (returned): SIGHUP runs `reload` between
// systemd's RELOADING=1 and READY=1; every `tick_seconds`, whatever signals
// come between, runs `tick`; `watched.ready` when its fd is readable.
int WaitForTermination(const std::function<void()>& reload, const std::function<void()>& tick,
                       double tick_seconds, const sigset_t& signals, const WatchedFd& watched = {});

}  // namespace netstacklat
