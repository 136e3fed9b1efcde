// Scrapes that arrive while one is being collected share its result: one
// collection (map reads, serialisation, gzip) answers all of them, and
// their connections send one body from memory. A request is only answered
// with a collection that started after it arrived, so no answer is older
// than its request. The latest body of each kind (format, encoding) is kept
// until the next one replaces it: requests queued behind a collection may
// still need it when it ends (HEADs hold no body themselves).
// Without this, every HEAD, gzip and concurrent scrape collected again,
// one after another behind the collector's mutex: 255 of them delayed a
// real scrape by seconds at 2,100 label sets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace netstacklat {

class SharedScrapes {
 public:
  using Clock = std::chrono::steady_clock;
  using Body = std::shared_ptr<const std::string>;

  // The body for `key` (one per format and encoding): the result of a
  // collection started at or after `arrived`, run by `collect` here or by
  // another caller at the same time. Rethrows what `collect` throws.
  Body Get(int key, Clock::time_point arrived, const std::function<std::string()>& collect);

  uint64_t collections() const;  // how many times `collect` ran

 private:
  struct Slot {
    bool running = false;
    Clock::time_point started;  // of the running collection
    Body last;                  // the latest result
    Clock::time_point last_started;
  };

  mutable std::mutex mu_;
  std::condition_variable done_;
  std::map<int, Slot> slots_;
  uint64_t collections_ = 0;
};

}  // namespace netstacklat
