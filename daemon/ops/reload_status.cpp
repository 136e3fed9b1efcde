#include "ops/reload_status.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/errors.h"

namespace netstacklat {
namespace {

constexpr const char* kFileName = "/reload-status";

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::string RuntimeDirectory() {
  const char* dir = std::getenv("RUNTIME_DIRECTORY");
  // systemd lists several directories separated by ':'; the unit names one.
  return dir ? std::string(dir).substr(0, std::string(dir).find(':')) : "";
}

ReloadStatusFile::ReloadStatusFile(std::string dir) : dir_(std::move(dir)) {}

void ReloadStatusFile::Publish(const ReloadOutcome& outcome) {
  ++reloads_;
  if (dir_.empty()) return;
  const std::string path = dir_ + kFileName, partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << getpid() << ' ' << reloads_ << ' ' << (outcome.ok ? "ok" : "failed") << ' '
        << outcome.message << '\n';
    if (!out) {
      spdlog::warn("cannot write {}: {}", partial, ErrnoText(errno));
      return;
    }
  }
  if (rename(partial.c_str(), path.c_str()) != 0)
    spdlog::warn("cannot write {}: {}", path, ErrnoText(errno));
}

bool ParseReloadStatus(const std::string& line, ReloadStatus* out) {
  std::istringstream in(line);
  std::string result;
  long long pid = 0;
  if (!(in >> pid >> out->number >> result) || pid <= 0 || (result != "ok" && result != "failed"))
    return false;
  out->pid = static_cast<pid_t>(pid);
  out->ok = result == "ok";
  std::getline(in >> std::ws, out->message);
  return true;
}

int RequestReload(pid_t pid, const std::string& dir, double timeout_seconds) {
  if (dir.empty()) {
    std::fprintf(stderr,
                 "netstacklat-exporter: --reload needs the unit's RuntimeDirectory= "
                 "(RUNTIME_DIRECTORY), where the daemon writes each reload's outcome\n");
    return 2;
  }
  const std::string path = dir + kFileName;
  const std::string before = ReadLine(path);
  if (kill(pid, SIGHUP) != 0) {
    std::fprintf(stderr, "netstacklat-exporter: cannot signal pid %d: %s\n", static_cast<int>(pid),
                 ErrnoText(errno).c_str());
    return 1;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    const std::string line = ReadLine(path);
    ReloadStatus status;
    if (line != before && ParseReloadStatus(line, &status) && status.pid == pid) {
      std::fprintf(stderr, "netstacklat-exporter: %s%s\n",
                   status.ok ? "" : "reload failed: ", status.message.c_str());
      return status.ok ? 0 : 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "netstacklat-exporter: no reload outcome from pid %d in %s within %.0f s\n",
               static_cast<int>(pid), path.c_str(), timeout_seconds);
  return 1;
}

}  // namespace netstacklat
