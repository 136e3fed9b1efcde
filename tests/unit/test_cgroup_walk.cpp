// The cgroup tree walked in bounded steps (here a directory tree of the
// test's own: the walk only needs directories on one file system).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/cgroup_walk.h"
#include "host/name_resolver.h"

using namespace netstacklat;
namespace fs = std::filesystem;

namespace {

uint64_t Inode(const fs::path& p) {
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("a walk in steps finds what one whole walk finds, within each step's budget") {
  char tmpl[] = "/tmp/nstl-walk-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const fs::path root(tmpl);
  // 1 + 10 + 100 directories, and a deep chain of 50.
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j)
      fs::create_directories(root / std::to_string(i) / std::to_string(j));
  fs::path deep = root / "deep";
  for (int i = 0; i < 50; ++i) deep /= "d";
  fs::create_directories(deep);
  { std::ofstream(root / "file") << "not a directory"; }

  const auto whole = CgroupsUnder(root.string());
  CHECK(whole.size() == 1 + 10 + 100 + 1 + 50);
  CHECK(whole.at(Inode(deep)) == deep.string());

  CgroupWalk walk(root.string());
  size_t steps = 0;
  while (!walk.done()) {
    CHECK(walk.Step(16) <= 16);
    ++steps;
  }
  CHECK(steps >= whole.size() / 16);
  CHECK(walk.found() == whole);

  CgroupWalk nowhere((root / "missing").string());
  CHECK(nowhere.done());
  CHECK(nowhere.Step(10) == 0);
  fs::remove_all(root);
}

// A daemon started at boot (systemd's early units, a VM that boots in
// seconds) meets its first unknown cgroup with the monotonic clock below
// the rescan interval: that miss must still walk the tree, not wait for a
// scan that never happened.
TEST_CASE("the first unknown cgroup starts a walk however soon after boot") {
  char tmpl[] = "/tmp/nstl-walk-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const fs::path root(tmpl);
  const fs::path early = root / "system.slice" / "early.service";
  fs::create_directories(early);
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::seconds(3);
  SystemNameResolver names("", root.string(), [&] { return now; });
  CHECK(names.CgroupPath(Inode(early)) == early.string());

  // Made after that walk: unknown until the next one, at most one walk per
  // rescan interval however many misses come.
  const fs::path later = root / "system.slice" / "later.service";
  fs::create_directories(later);
  now += std::chrono::seconds(1);
  CHECK_FALSE(names.CgroupPath(Inode(later)));
  now += std::chrono::seconds(10);
  CHECK(names.CgroupPath(Inode(later)) == later.string());
  fs::remove_all(root);
}
