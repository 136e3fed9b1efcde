// The listening socket of a --web.listen-address (config/listen_address
// parses and resolves it): what the HTTP server accepts on.
#pragma once

#include <string>

namespace netstacklat {

// A listening, non-blocking TCP socket (dual-stack for an empty host).
// Throws StartupError naming the address if it cannot be bound.
int BindListenSocket(const std::string& address, int backlog);

}  // namespace netstacklat
