#include "ops/capabilities.h"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "base/errors.h"

namespace netstacklat {
namespace {

const char* const kCapabilitySets[] = {"CapInh:", "CapPrm:", "CapEff:", "CapAmb:"};

std::vector<std::string> TaskIds() {
  std::vector<std::string> ids;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) throw StartupError("cannot list /proc/self/task: " + ErrnoText(errno));
  while (const dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
  closedir(dir);
  return ids;
}

// "" if the thread holds no capability (or is gone), else what it holds.
std::string CapabilitiesOf(const std::string& tid) {
  std::ifstream status("/proc/self/task/" + tid + "/status");
  std::string line, name, held;
  while (std::getline(status, line)) {
    if (line.rfind("Name:", 0) == 0) name = line.substr(line.find_first_not_of(" \t", 5));
    for (const char* set : kCapabilitySets) {
      if (line.rfind(set, 0) != 0) continue;
      const std::string value = line.substr(line.find_first_not_of(" \t", 7));
      if (value.find_first_not_of('0') != std::string::npos)
        held += std::string(held.empty() ? "" : " ") + set + value;
    }
  }
  return held.empty() ? "" : name + " (" + tid + "): " + held;
}

// A thread just joined may still be listed for a moment while the kernel
// releases it: wait briefly for the count to settle at one.
void RequireSingleThreaded() {
  for (int i = 0; i < 100 && ThreadCount() > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (const size_t n = ThreadCount(); n > 1)
    throw StartupError("dropping capabilities: " + std::to_string(n - 1) +
                       " other thread(s) already run and would keep theirs (a bug: threads "
                       "must start after the drop)");
}

bool HasEffective(int cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

// Every capability out of the bounding set, where CAP_SETPCAP allows it.
void EmptyBoundingSet() {
  if (!HasEffective(CAP_SETPCAP)) return;  // the unit's own bounding set stays
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      throw StartupError("dropping capability " + std::to_string(cap) +
                         " from the bounding set: " + ErrnoText(errno));
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

void ClearCapabilitySets() {
  // Ambient first: capset() cannot clear it while it is still permitted.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0)
    throw StartupError("dropping capabilities: " + ErrnoText(errno));
}

}  // namespace

void DropPrivileges(const std::string& run_as_user) {
  RequireSingleThreaded();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw StartupError("setting no_new_privs: " + ErrnoText(errno));
  EmptyBoundingSet();  // before the user switch takes CAP_SETPCAP away
  if (!run_as_user.empty()) SwitchUser(run_as_user);
  ClearCapabilitySets();
  if (const auto held = ThreadsHoldingCapabilities(); !held.empty())
    throw StartupError("capabilities still held after the drop: " + held.front());
}

std::vector<std::string> ThreadsHoldingCapabilities() {
  std::vector<std::string> held;
  for (const std::string& tid : TaskIds())
    if (std::string h = CapabilitiesOf(tid); !h.empty()) held.push_back(std::move(h));
  return held;
}

size_t ThreadCount() {
  return TaskIds().size();
}

}  // namespace netstacklat
