// Logging: spdlog on stderr, one line per event (stdout carries the
// terminal report). Under systemd, stderr is a stream into the journal
// (JOURNAL_STREAM names it); there each line starts with its syslog
// priority ("<4>"), which journald strips and keeps as the entry's
// priority, so `journalctl -p warning` finds the warnings and `-p err` the
// errors. Elsewhere lines read "<time> <level> <message>".
#pragma once

#include <spdlog/common.h>

#include <string>

namespace netstacklat {

// --log.level, --log.no-timestamps; libbpf's messages are routed here too.
void SetUpLogging(const std::string& level, bool no_timestamps);

// "<3>" for err, "<4>" for warn, ... (sd-daemon.h's SD_ERR, SD_WARNING).
const char* JournalPriorityPrefix(spdlog::level::level_enum level);

// Whether fd 2 is the journal stream that JOURNAL_STREAM ("dev:inode") names.
bool StderrIsJournal(const char* journal_stream);

}  // namespace netstacklat
