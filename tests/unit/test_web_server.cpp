// WebServer on loopback, in process: what it serves, and scrapes that
// arrive together sharing one collection. No root.
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "loopback_client.h"
#include "serve/web_server.h"

using namespace std::chrono_literals;

namespace {

// A collectable that counts its collections; each waits until the test
// opens the gate.
class GatedCollectable : public netstacklat::ExtrasCollectable {
 public:
  std::vector<prometheus::MetricFamily> CollectWithExtras(netstacklat::HistogramExtras*) override {
    return Collect();
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    ++collections;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return open_; });
    }
    prometheus::MetricFamily f;
    f.name = "slow_collections";
    f.help = "Collections so far.";
    f.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.gauge.value = static_cast<double>(collections.load());
    f.metric.push_back(m);
    return {f};
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  mutable std::atomic<int> collections{0};

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace

// 40 scrapes at once (HEADs, gzip or not, as a burst of pipelined requests
// would bring them): requests that arrive while a collection runs share its
// result instead of queueing 40 collections behind the mutex (issue 20,
// item 3).
TEST_CASE("scrapes that arrive while a collection runs share its result") {
  netstacklat::WebServer web("127.0.0.1:0", "/metrics");
  auto slow = std::make_shared<GatedCollectable>();
  web.SetCollector(slow);
  web.Start();
  std::vector<int> fds;
  for (int i = 0; i < 40; ++i) fds.push_back(Connect(web.Port()));
  for (int fd : fds) Send(fd, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  // The first collection is held until the server has read all 40.
  for (int i = 0; i < 500 && web.Stats().requests < 40; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(web.Stats().requests == 40);
  slow->Open();
  for (int fd : fds) {
    CHECK_THAT(ReadUntilClosed(fd, 10000ms), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
    close(fd);
  }
  // Each request is answered by a collection that started after it
  // arrived: the first one, and one more for those that came after it had
  // started, all held until every request was read (before: 40, one after
  // another).
  CHECK(slow->collections >= 1);
  CHECK(slow->collections <= 2);
  // A request after those gets a new collection, not an old answer.
  // Counted before sending: read after, a server quicker than this thread
  // had already counted the new collection (a flake seen under load).
  const int before = slow->collections;
  const int late = Connect(web.Port());
  Send(late, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(late, 5000ms), Catch::Contains("slow_collections"));
  CHECK(slow->collections == before + 1);
  close(late);
}

TEST_CASE("the web server serves the metrics, the landing page and refusals") {
  netstacklat::WebServer web("127.0.0.1:0", "/metrics");
  web.Start();
  const auto get = [&](const std::string& request) {
    const int fd = Connect(web.Port());
    Send(fd, request);
    std::string out = ReadUntilClosed(fd);
    close(fd);
    return out;
  };
  const std::string scrape = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  CHECK_THAT(get("GET / HTTP/1.0\r\n\r\n"), Catch::Contains("<a href=\"/metrics\">"));
  CHECK_THAT(get(scrape), Catch::StartsWith("HTTP/1.1 200 OK\r\n") &&
                              Catch::Contains("netstacklat_exporter_http_connections 1\n"));
  CHECK_THAT(get("POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 405 ") && Catch::Contains("Allow: GET, HEAD"));
  CHECK_THAT(get("GET /other HTTP/1.0\r\n\r\n"), Catch::StartsWith("HTTP/1.1 404 "));
}
