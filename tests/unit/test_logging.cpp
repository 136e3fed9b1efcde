// Under systemd each log line carries its syslog priority for the journal.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "ops/logging.h"

using netstacklat::JournalPriorityPrefix;
using netstacklat::StderrIsJournal;

TEST_CASE("each spdlog level maps to its syslog priority prefix") {
  CHECK(std::string(JournalPriorityPrefix(spdlog::level::critical)) == "<2>");
  CHECK(std::string(JournalPriorityPrefix(spdlog::level::err)) == "<3>");
  CHECK(std::string(JournalPriorityPrefix(spdlog::level::warn)) == "<4>");
  CHECK(std::string(JournalPriorityPrefix(spdlog::level::info)) == "<6>");
  CHECK(std::string(JournalPriorityPrefix(spdlog::level::debug)) == "<7>");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its device and inode") {
  struct stat st {};
  REQUIRE(fstat(2, &st) == 0);
  const std::string self = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  CHECK(StderrIsJournal(self.c_str()));
  CHECK_FALSE(StderrIsJournal(nullptr));
  CHECK_FALSE(StderrIsJournal(""));
  CHECK_FALSE(StderrIsJournal("garbage"));
  // A stream inherited from a parent that ran under systemd: another inode.
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  CHECK_FALSE(StderrIsJournal(other.c_str()));
}
