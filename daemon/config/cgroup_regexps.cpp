#include "config/cgroup_regexps.h"

namespace netstacklat {

CgroupRegexps::CgroupRegexps(const std::vector<std::string>& regexps) {
  for (const std::string& r : regexps)
    compiled_.push_back(std::make_unique<re2::RE2>(r, re2::RE2::Quiet));
}

bool CgroupRegexps::Matches(const std::string& path) const {
  for (const auto& re : compiled_)
    if (re->ok() && re2::RE2::PartialMatch(path, *re)) return true;
  return false;
}

}  // namespace netstacklat
