// The reload outcome that `systemctl reload` waits for (ops/reload_status):
// the file's line, and --reload against a real process that takes SIGHUP.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "ops/reload_status.h"

using namespace netstacklat;

namespace {

// A stand-in daemon: waits for SIGHUP, publishes `outcome` (twice: the
// client must wait for the reload it asked for, not a stale line), exits.
pid_t FakeDaemon(const std::string& dir, const ReloadOutcome& outcome) {
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  sigprocmask(SIG_BLOCK, &hup, nullptr);  // before the fork: no SIGHUP lost
  const pid_t pid = fork();
  if (pid == 0) {
    int sig = 0;
    sigwait(&hup, &sig);
    ReloadStatusFile file(dir);
    file.Publish(outcome);
    _exit(0);
  }
  sigprocmask(SIG_UNBLOCK, &hup, nullptr);
  return pid;
}

std::string TempDir() {
  char tmpl[] = "/tmp/nstl-reload-XXXXXX";
  return mkdtemp(tmpl);
}

}  // namespace

TEST_CASE("a reload status line round-trips") {
  const std::string dir = TempDir();
  ReloadStatusFile file(dir);
  file.Publish({true, "reloaded a.yaml"});
  file.Publish({false, "b.yaml:2:1: filters: given twice"});
  std::ifstream in(dir + "/reload-status");
  std::string line;
  std::getline(in, line);
  ReloadStatus s;
  REQUIRE(ParseReloadStatus(line, &s));
  CHECK(s.pid == getpid());
  CHECK(s.number == 2);
  CHECK_FALSE(s.ok);
  CHECK(s.message == "b.yaml:2:1: filters: given twice");
  CHECK_FALSE(ParseReloadStatus("", &s));
  CHECK_FALSE(ParseReloadStatus("12 1 maybe x", &s));
  CHECK_FALSE(ParseReloadStatus("-1 1 ok x", &s));
  std::filesystem::remove_all(dir);
}

TEST_CASE("--reload exits with the outcome of the reload it asked for") {
  const std::string dir = TempDir();
  // A line from an earlier reload is there already: not the answer.
  ReloadStatusFile(dir).Publish({true, "an earlier reload"});
  SECTION("applied") {
    const pid_t pid = FakeDaemon(dir, {true, "reloaded x.yaml"});
    CHECK(RequestReload(pid, dir, 10) == 0);
    waitpid(pid, nullptr, 0);
  }
  SECTION("not applied") {
    const pid_t pid = FakeDaemon(dir, {false, "x.yaml: tls_server_config added"});
    CHECK(RequestReload(pid, dir, 10) == 1);
    waitpid(pid, nullptr, 0);
  }
  SECTION("no answer") {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, nullptr);  // until SIG_IGN is in place
    const pid_t pid = fork();
    if (pid == 0) {
      signal(SIGHUP, SIG_IGN);
      sigprocmask(SIG_UNBLOCK, &hup, nullptr);
      pause();
      _exit(0);
    }
    sigprocmask(SIG_UNBLOCK, &hup, nullptr);
    CHECK(RequestReload(pid, dir, 0.3) == 1);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  SECTION("no runtime directory") {
    CHECK(RequestReload(getpid(), "", 1) == 2);
  }
  std::filesystem::remove_all(dir);
}
