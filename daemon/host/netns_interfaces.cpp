#include "host/netns_interfaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/errors.h"

namespace netstacklat {
namespace {

int OpenSocket() {
  return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

// setns() moves only the calling thread, so a short-lived thread enters
// the namespace and makes the socket there; the daemon stays where it is.
int OpenSocketIn(const std::string& netns_path) {
  const UniqueFd ns(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid())
    throw StartupError("cannot open network namespace " + netns_path + ": " + strerror(errno));
  int sock = -1, err = 0;
  std::thread([&] {
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    sock = OpenSocket();
    if (sock < 0) err = errno;
  }).join();
  if (sock < 0)
    throw StartupError("cannot enter network namespace " + netns_path + ": " + strerror(err));
  return sock;
}

}  // namespace

NetnsInterfaces::NetnsInterfaces(const std::string& netns_path)
    : sock_(netns_path.empty() ? OpenSocket() : OpenSocketIn(netns_path)) {
  if (!sock_.valid()) throw StartupError(std::string("cannot open a socket: ") + strerror(errno));
}

uint32_t NetnsInterfaces::IndexOf(const std::string& name) const {
  struct ifreq req {};
  if (name.empty() || name.size() >= sizeof(req.ifr_name)) return 0;
  memcpy(req.ifr_name, name.c_str(), name.size());
  if (ioctl(sock_.get(), SIOCGIFINDEX, &req) != 0) return 0;
  return static_cast<uint32_t>(req.ifr_ifindex);
}

std::optional<std::string> NetnsInterfaces::NameOf(uint32_t ifindex) const {
  struct ifreq req {};
  req.ifr_ifindex = static_cast<int>(ifindex);
  if (ifindex == 0 || ioctl(sock_.get(), SIOCGIFNAME, &req) != 0) return std::nullopt;
  return std::string(req.ifr_name, strnlen(req.ifr_name, sizeof(req.ifr_name)));
}

std::shared_ptr<const NetnsInterfaces> InterfacesIn(const std::string& netns_path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const NetnsInterfaces>> opened;
  const std::lock_guard<std::mutex> lock(mu);
  auto& slot = opened[netns_path];
  if (!slot) slot = std::make_shared<const NetnsInterfaces>(netns_path);
  return slot;
}

}  // namespace netstacklat
