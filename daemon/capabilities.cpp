#include "capabilities.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "errors.h"

namespace netstacklat {

void DropAllCapabilities() {
  // Ambient first: capset() cannot clear it while it is still permitted.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0)
    throw StartupError("dropping capabilities: " + ErrnoText(errno));
}

void SwitchUser(const std::string& name) {
  const struct passwd* pw = getpwnam(name.c_str());
  if (!pw) throw StartupError("run as user '" + name + "': no such user");
  const gid_t gid = pw->pw_gid;
  const uid_t uid = pw->pw_uid;
  if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
    throw StartupError("run as user '" + name + "': " + ErrnoText(errno) +
                       " (needs CAP_SETUID and CAP_SETGID; under systemd use User=)");
}

std::string EffectiveCapabilities() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 7));
  return "";
}

}  // namespace netstacklat
