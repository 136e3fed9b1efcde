#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cstring>
#include <set>

#include "kernel/bpf_loader.h"
#include "kernel/map_reader.h"
#include "netstacklat.h"  // before the skeleton: its .bss has our structs
#include "netstacklat.skel.h"

// What the loader reports once loaded (ExporterStatus): the programs with
// their kernel statistics, and the hooks with what they missed.
namespace netstacklat {

std::vector<ProgramInfo> BpfLoader::Programs() const {
  std::set<std::string> attached;
  for (const auto& link : links_) attached.insert(link.first);
  std::vector<ProgramInfo> out;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    const int fd = bpf_program__fd(prog);
    if (fd < 0) continue;  // not loaded on this kernel
    struct bpf_prog_info info = {};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    ProgramInfo p;
    p.name = bpf_program__name(prog);
    p.section = bpf_program__section_name(prog);
    p.id = info.id;
    p.tag = fmt::format("{:02x}", fmt::join(info.tag, info.tag + sizeof(info.tag), ""));
    p.attached = attached.count(p.name) > 0;
    p.run_time_ns = info.run_time_ns;
    p.run_count = info.run_cnt;
    out.push_back(std::move(p));
  }
  return out;
}

std::string BpfLoader::AttachedSummary() const {
  size_t attached = 0;
  for (const HookStatus& h : hooks_) attached += h.attached();
  return std::to_string(attached) + " of " + std::to_string(hooks_.size()) + " hooks attached";
}

std::vector<HookStatus> BpfLoader::Hooks() const {
  std::vector<HookStatus> hooks = hooks_;
  if (!future_reader_) return hooks;  // not loaded
  for (HookStatus& h : hooks)
    for (const std::string& name : h.programs) {
      struct bpf_prog_info info = {};
      __u32 len = sizeof(info);
      if (bpf_obj_get_info_by_fd(bpf_program__fd(Program(name)), &info, &len) == 0)
        h.missed_runs += info.recursion_misses;
    }
  RawMapContents raw;
  future_reader_->Read(&raw);
  for (size_t i = 0; i < raw.count(); ++i) {
    uint32_t id = 0;
    std::memcpy(&id, &raw.keys[i * raw.key_size], sizeof(id));
    for (HookStatus& h : hooks)
      if (h.id == id) h.future_timestamps = raw.values[i];
  }
  return hooks;
}

}  // namespace netstacklat
