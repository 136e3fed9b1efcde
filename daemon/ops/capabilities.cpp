#include "ops/capabilities.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

// CAP_BPF alone, as /proc/PID/status prints a capability set.
constexpr const char* kCapBpfOnly = "0000008000000000";

// "" if the thread holds no capability (or is gone), else what it holds.
std::string CapabilitiesOf(const std::string& tid, bool cap_bpf_allowed) {
  std::ifstream status("/proc/self/task/" + tid + "/status");
  std::string line, name, held;
  while (std::getline(status, line)) {
    if (line.rfind("Name:", 0) == 0) name = line.substr(line.find_first_not_of(" \t", 5));
    for (const char* set : kCapabilitySets) {
      if (line.rfind(set, 0) != 0) continue;
      const std::string value = line.substr(line.find_first_not_of(" \t", 7));
      const bool bpf_set = std::string(set) == "CapPrm:" || std::string(set) == "CapEff:";
      if (cap_bpf_allowed && bpf_set && value == kCapBpfOnly) continue;
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

void SwitchUser(const std::string& name, bool keep_caps) {
  const struct passwd* pw = getpwnam(name.c_str());
  if (!pw) throw StartupError("run as user '" + name + "': no such user");
  const gid_t gid = pw->pw_gid;
  const uid_t uid = pw->pw_uid;
  // Without it, leaving uid 0 empties the permitted set: CAP_BPF with it.
  if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    throw StartupError("keeping CAP_BPF across the user switch: " + ErrnoText(errno));
  if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
    throw StartupError("run as user '" + name + "': " + ErrnoText(errno) +
                       " (needs CAP_SETUID and CAP_SETGID; under systemd use User=)");
  if (keep_caps) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

// Every set emptied, but for CAP_BPF in permitted and effective if kept.
bool SetCapabilities(bool keep_cap_bpf) {
  // Ambient first: capset() cannot clear it while it is still permitted.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (keep_cap_bpf) {
    data[CAP_BPF / 32].permitted = 1u << (CAP_BPF % 32);
    data[CAP_BPF / 32].effective = 1u << (CAP_BPF % 32);
  }
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

void DropPrivileges(const std::string& run_as_user, bool keep_cap_bpf) {
  RequireSingleThreaded();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw StartupError("setting no_new_privs: " + ErrnoText(errno));
  EmptyBoundingSet();  // before the user switch takes CAP_SETPCAP away
  if (!run_as_user.empty()) SwitchUser(run_as_user, keep_cap_bpf);
  if (!SetCapabilities(keep_cap_bpf))
    throw StartupError("dropping capabilities: " + ErrnoText(errno));
  if (const auto held = ThreadsHoldingCapabilities(keep_cap_bpf); !held.empty())
    throw StartupError("capabilities still held after the drop: " + held.front());
}

bool BpfNeedsCapability(int map_fd) {
  RequireSingleThreaded();
  const pid_t child = fork();
  if (child < 0) throw StartupError("asking the kernel about bpf(): fork: " + ErrnoText(errno));
  if (child == 0) {
    if (!SetCapabilities(false)) _exit(2);
    struct bpf_map_info info = {};
    __u32 len = sizeof(info);
    const int err = bpf_obj_get_info_by_fd(map_fd, &info, &len);
    _exit(err == -EPERM ? 1 : 0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
    throw StartupError("asking the kernel about bpf(): the child process failed");
  return WEXITSTATUS(status) == 1;
}

std::vector<std::string> ThreadsHoldingCapabilities(bool cap_bpf_allowed) {
  std::vector<std::string> held;
  for (const std::string& tid : TaskIds())
    if (std::string h = CapabilitiesOf(tid, cap_bpf_allowed); !h.empty())
      held.push_back(std::move(h));
  return held;
}

size_t ThreadCount() {
  return TaskIds().size();
}

}  // namespace netstacklat
