// `systemctl reload` that fails when the reload does. SIGHUP alone cannot
// answer (the shell's kill exits 0 whatever the daemon then does), and
// systemd 252 (Debian 12) has no Type=notify-reload. So the unit's
// ExecReload runs `netstacklat-exporter --reload=$MAINPID`, which sends the
// SIGHUP and waits for the outcome that the daemon writes, after each
// reload, to $RUNTIME_DIRECTORY/reload-status (the unit's
// RuntimeDirectory=): one line, "<pid> <reload number> ok|failed <message>".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "ops/reload.h"

namespace netstacklat {

// systemd's RuntimeDirectory= (RUNTIME_DIRECTORY); "" outside such a unit.
std::string RuntimeDirectory();

// The daemon's side: writes each outcome (atomically: a new file renamed
// over the old one). No directory: does nothing.
class ReloadStatusFile {
 public:
  explicit ReloadStatusFile(std::string dir);
  void Publish(const ReloadOutcome& outcome);

 private:
  std::string dir_;
  uint64_t reloads_ = 0;
};

struct ReloadStatus {
  pid_t pid = 0;
  uint64_t number = 0;
  bool ok = false;
  std::string message;
};
// One line of the file; false if malformed.
bool ParseReloadStatus(const std::string& line, ReloadStatus* out);

// The client's side (--reload=PID): SIGHUP to pid, then the outcome of that
// reload, printed on stderr. Returns the exit code: 0 applied, 1 not
// applied or no answer within timeout_seconds, 2 no RuntimeDirectory.
int RequestReload(pid_t pid, const std::string& dir, double timeout_seconds);

}  // namespace netstacklat
