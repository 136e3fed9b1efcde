#include "serve/shared_scrapes.h"

namespace netstacklat {

SharedScrapes::Body SharedScrapes::Get(int key, Clock::time_point arrived,
                                       const std::function<std::string()>& collect) {
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = slots_[key];
  for (;;) {
    if (slot.last && slot.last_started >= arrived) return slot.last;
    if (!slot.running) break;
    // One collection per key at a time: wait for the running one, then
    // take its result if it is fresh enough for us, else run the next.
    done_.wait(lock, [&] { return !slot.running; });
  }
  slot.running = true;
  const Clock::time_point started = slot.started = Clock::now();
  ++collections_;
  lock.unlock();
  Body body;
  try {
    body = std::make_shared<const std::string>(collect());
  } catch (...) {
    lock.lock();
    slot.running = false;
    done_.notify_all();
    throw;
  }
  lock.lock();
  slot.running = false;
  slot.last = body;
  slot.last_started = started;
  done_.notify_all();
  return body;
}

uint64_t SharedScrapes::collections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return collections_;
}

}  // namespace netstacklat
