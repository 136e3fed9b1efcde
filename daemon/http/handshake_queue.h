// TLS handshakes waiting for the handshake thread ("nstl-tls"), in the
// order it takes them: those of known clients (client_sources.h) first, in
// arrival order; then one per client address in turn. A handshake costs the
// server ~1 ms of CPU (RSA-2048) and a ClientHello costs its sender nothing,
// so whoever floods them waits behind everyone else's, not the reverse.
// Not thread-safe: the server guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

struct ssl_st;  // OpenSSL's SSL

namespace netstacklat {

class HandshakeQueue {
 public:
  struct Item {
    uint64_t id = 0;  // the connection's
    std::string client;
    bool known = false;
    ssl_st* ssl = nullptr;  // the connection's TLS state and socket
    int fd = -1;
  };

  void Push(Item item);
  std::optional<Item> Pop();
  // Removes the connection's handshake if it is still waiting; false if it
  // is not here (running, or never queued).
  bool Cancel(uint64_t id, const std::string& client, bool known);
  size_t size() const { return size_; }

 private:
  static bool Erase(std::deque<Item>& q, uint64_t id);

  std::deque<Item> known_;
  std::unordered_map<std::string, std::deque<Item>> by_client_;
  std::deque<std::string> turns_;  // client addresses with a handshake waiting
  size_t size_ = 0;
};

}  // namespace netstacklat
