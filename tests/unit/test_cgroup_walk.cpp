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
