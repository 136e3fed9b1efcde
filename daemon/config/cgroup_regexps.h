// ebpf_exporter's cgroup_id_map selection: a cgroup is selected when any of
// the regular expressions matches its full path (/sys/fs/cgroup/a/b), as Go's
// regexp.MatchString does: RE2 syntax, unanchored unless the expression
// anchors itself, in time linear in the path (paths are any local user's).
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <vector>

namespace netstacklat {

class CgroupRegexps {
 public:
  // The expressions were checked when the metrics config was parsed.
  explicit CgroupRegexps(const std::vector<std::string>& regexps);

  bool empty() const { return compiled_.empty(); }
  bool Matches(const std::string& path) const;

 private:
  std::vector<std::unique_ptr<re2::RE2>> compiled_;
};

}  // namespace netstacklat
