#include "http/handshake_queue.h"

#include <algorithm>
#include <utility>

namespace netstacklat {

void HandshakeQueue::Push(Item item) {
  ++size_;
  if (item.known) {
    known_.push_back(std::move(item));
    return;
  }
  auto& q = by_client_[item.client];
  if (q.empty()) turns_.push_back(item.client);
  q.push_back(std::move(item));
}

std::optional<HandshakeQueue::Item> HandshakeQueue::Pop() {
  if (!known_.empty()) {
    Item item = std::move(known_.front());
    known_.pop_front();
    --size_;
    return item;
  }
  if (turns_.empty()) return std::nullopt;
  const std::string client = std::move(turns_.front());
  turns_.pop_front();
  auto it = by_client_.find(client);
  Item item = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty())
    by_client_.erase(it);
  else
    turns_.push_back(client);  // its next one after everyone else's
  --size_;
  return item;
}

bool HandshakeQueue::Erase(std::deque<Item>& q, uint64_t id) {
  const auto it = std::find_if(q.begin(), q.end(), [id](const Item& i) { return i.id == id; });
  if (it == q.end()) return false;
  q.erase(it);
  return true;
}

bool HandshakeQueue::Cancel(uint64_t id, const std::string& client, bool known) {
  if (known) {
    if (!Erase(known_, id)) return false;
    --size_;
    return true;
  }
  const auto it = by_client_.find(client);
  if (it == by_client_.end() || !Erase(it->second, id)) return false;
  --size_;
  if (it->second.empty()) {
    by_client_.erase(it);
    turns_.erase(std::find(turns_.begin(), turns_.end(), client));
  }
  return true;
}

}  // namespace netstacklat
