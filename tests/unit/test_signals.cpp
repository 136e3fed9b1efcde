// The main thread's signal loop: SIGHUP reloads, SIGTERM stops, and the
// tick (the running report, the TAI refresh) keeps its schedule through a
// SIGHUP storm. Signals are sent to this thread only (pthread_kill), so no
// other thread of the test process can take them.
#include <pthread.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include "ops/signals.h"

using namespace netstacklat;

namespace {

// Takes what is still pending for this thread, then unblocks the set.
void Restore(const sigset_t& signals) {
  const struct timespec none {};
  while (sigtimedwait(&signals, nullptr, &none) > 0) {
  }
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
}

}  // namespace

TEST_CASE("the tick keeps its schedule through a SIGHUP every 2 ms") {
  const sigset_t signals = BlockSignals();
  const pthread_t self = pthread_self();
  std::thread storm([&] {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1100);
    while (std::chrono::steady_clock::now() < end) {
      pthread_kill(self, SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pthread_kill(self, SIGTERM);
  });
  int reloads = 0, ticks = 0;
  const int sig = WaitForTermination([&] { ++reloads; }, [&] { ++ticks; }, 0.2, signals);
  storm.join();
  Restore(signals);
  CHECK(sig == SIGTERM);
  CHECK(reloads > 50);
  // 1.1 s of storm with a tick every 0.2 s: 5 ticks (was 0: each signal
  // restarted the wait for a whole tick).
  CHECK(ticks >= 4);
  CHECK(ticks <= 6);
}

TEST_CASE("a SIGHUP does not cut a sleep short; SIGTERM does") {
  const sigset_t signals = BlockSignals();
  const pthread_t self = pthread_self();
  std::thread hup([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pthread_kill(self, SIGHUP);
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(SleepUnlessTerminated(0.3, signals));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  hup.join();
  std::thread term([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pthread_kill(self, SIGTERM);
  });
  CHECK(SleepUnlessTerminated(10, signals));
  term.join();
  Restore(signals);
}

TEST_CASE("a watched fd is served between signals, without waiting for the tick") {
  const sigset_t signals = BlockSignals();
  const pthread_t self = pthread_self();
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(write(pipe_fds[1], "x", 1) == 1);
  });
  int ready = 0, ticks = 0;
  const auto start = std::chrono::steady_clock::now();
  const int sig = WaitForTermination([] {}, [&] { ++ticks; }, 10, signals,
                                     WatchedFd{pipe_fds[0], [&] {
                                                 char c;
                                                 REQUIRE(read(pipe_fds[0], &c, 1) == 1);
                                                 ++ready;
                                                 pthread_kill(self, SIGTERM);
                                               }});
  const auto waited = std::chrono::steady_clock::now() - start;
  writer.join();
  Restore(signals);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  CHECK(sig == SIGTERM);
  CHECK(ready == 1);
  CHECK(ticks == 0);  // a 10 s tick: the fd was served at once
  CHECK(waited < std::chrono::seconds(5));
}
