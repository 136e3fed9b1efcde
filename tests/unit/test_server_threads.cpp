// The slow-check (bcrypt) queue between the HTTP loop and its "nstl-auth"
// thread: what it admits, what gives way, and the order it runs checks in.
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "http/server_threads.h"

using namespace std::chrono_literals;
using netstacklat::HttpLimits;
using netstacklat::HttpStats;
using netstacklat::Job;
using netstacklat::RequestGate;
using netstacklat::ServerThreads;

namespace {

Job SlowJob(uint64_t id, const std::string& client, bool suspect) {
  Job job{id, {}, client, suspect};
  job.request.path = "/" + std::to_string(id);
  return job;
}

struct Fixture {
  std::mutex mu;
  std::vector<std::string> ran;  // paths, in the order the gate checked them
  HttpStats stats;
  HttpLimits limits;
  RequestGate gate;

  Fixture() {
    limits.workers = 0;
    limits.max_slow_checks = 3;
    gate.quick = [](const netstacklat::HttpRequest&) { return RequestGate::Verdict::kSlowCheck; };
    gate.slow = [this](const netstacklat::HttpRequest& r) {
      const std::lock_guard<std::mutex> lock(mu);
      ran.push_back(r.path);
      return false;
    };
    gate.denied = [] { return netstacklat::HttpResponse{401, "text/plain", "no\n", {}}; };
  }
};

}  // namespace

TEST_CASE("a full slow-check queue: a clean source takes a suspect one's place") {
  Fixture f;
  ServerThreads threads(nullptr, f.gate, false, f.limits, f.stats, [] {});
  // Not started: the queue only fills.
  CHECK(threads.EnqueueSlowCheck(SlowJob(1, "sprayer-a", true)).queued);
  CHECK(threads.EnqueueSlowCheck(SlowJob(2, "sprayer-b", true)).queued);
  CHECK(threads.EnqueueSlowCheck(SlowJob(3, "sprayer-c", true)).queued);
  // Full: another suspect source is refused, nothing gives way.
  auto refused = threads.EnqueueSlowCheck(SlowJob(4, "sprayer-d", true));
  CHECK_FALSE(refused.queued);
  CHECK_FALSE(refused.displaced);
  // One check per source: the same source again is refused.
  CHECK_FALSE(threads.EnqueueSlowCheck(SlowJob(5, "sprayer-a", false)).queued);
  // A clean source: the newest suspect check gives way, to be answered 429.
  auto scraper = threads.EnqueueSlowCheck(SlowJob(6, "scraper", false));
  CHECK(scraper.queued);
  REQUIRE(scraper.displaced);
  CHECK(scraper.displaced->id == 3);
  CHECK(scraper.displaced->request.path == "/3");
  // Its source's slot was given back with it.
  CHECK(threads.EnqueueSlowCheck(SlowJob(7, "another", false)).queued);
  CHECK(threads.EnqueueSlowCheck(SlowJob(8, "third", false)).queued);
  // Now all clean: a clean newcomer waits its turn (429).
  auto full = threads.EnqueueSlowCheck(SlowJob(9, "fourth", false));
  CHECK_FALSE(full.queued);
  CHECK_FALSE(full.displaced);
}

TEST_CASE("checks of sources that are not suspect run first, each kind in arrival order") {
  Fixture f;
  f.limits.max_slow_checks = 8;
  ServerThreads threads(nullptr, f.gate, false, f.limits, f.stats, [] {});
  for (const auto& [id, client, suspect] : std::vector<std::tuple<uint64_t, std::string, bool>>{
           {1, "s1", true}, {2, "c1", false}, {3, "s2", true}, {4, "c2", false}})
    REQUIRE(threads.EnqueueSlowCheck(SlowJob(id, client, suspect)).queued);
  threads.Start();
  for (int i = 0; i < 200; ++i) {
    {
      const std::lock_guard<std::mutex> lock(f.mu);
      if (f.ran.size() == 4) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  threads.Stop();
  CHECK(f.ran == std::vector<std::string>{"/2", "/4", "/1", "/3"});
  const auto done = threads.TakeDone();
  REQUIRE(done.size() == 4);
  for (const auto& d : done) {
    CHECK(d.status == 401);
    CHECK(d.check_failed);
  }
}
