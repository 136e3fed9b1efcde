// Routes libbpf's messages to spdlog, one line each; libbpf's debug chatter
// only at --log.level=debug.
#pragma once

namespace netstacklat {

void RouteLibbpfLogs();

}  // namespace netstacklat
