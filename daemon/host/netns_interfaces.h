// Interface names <-> indexes in one network namespace: the daemon's own,
// or another one named by a path such as /run/netns/NAME.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/unique_fd.h"

namespace netstacklat {

class NetnsInterfaces {
 public:
  // "" is the daemon's namespace. Throws StartupError if path is not a
  // network namespace that can be entered (entering needs CAP_SYS_ADMIN).
  explicit NetnsInterfaces(const std::string& netns_path = "");

  // 0 if there is no such interface.
  uint32_t IndexOf(const std::string& name) const;
  std::optional<std::string> NameOf(uint32_t ifindex) const;

 private:
  // A socket made inside the namespace: interface ioctls on it resolve
  // there, from any thread and without privileges, for as long as it lives.
  UniqueFd sock_;
};

// One NetnsInterfaces per path for the process's life: entering a
// namespace needs privileges the daemon drops after start, so a reload
// that names the same namespace reuses the socket made at start.
std::shared_ptr<const NetnsInterfaces> InterfacesIn(const std::string& netns_path);

}  // namespace netstacklat
