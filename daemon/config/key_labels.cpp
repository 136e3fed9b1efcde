#include "config/key_labels.h"

namespace netstacklat {

const std::vector<KeyLabel>& KeyLabels() {
  static const std::vector<KeyLabel> kLabels = {
      {"cgroup", offsetof(hist_key, cgroup), sizeof(hist_key::cgroup), "by_cgroup", "cgroup",
       &Grouping::by_cgroup, &netstacklat_config::groupby_cgroup},
      {"iface", offsetof(hist_key, ifindex), sizeof(hist_key::ifindex), "by_interface", "interface",
       &Grouping::by_interface, &netstacklat_config::groupby_ifindex},
      {"hook", offsetof(hist_key, hook), sizeof(hist_key::hook), nullptr, nullptr, nullptr,
       nullptr},
      {"bucket", offsetof(hist_key, bucket), sizeof(hist_key::bucket), nullptr, nullptr, nullptr,
       nullptr},
  };
  return kLabels;
}

const std::vector<const KeyLabel*>& GroupingLabels() {
  static const std::vector<const KeyLabel*> kRows = [] {
    std::vector<const KeyLabel*> rows;
    for (const KeyLabel& l : KeyLabels())
      if (l.grouping_key) rows.push_back(&l);
    return rows;
  }();
  return kRows;
}

std::string DescribeKeyLabels() {
  std::string out;
  const auto& labels = KeyLabels();
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool last = i + 1 == labels.size();
    if (i) out += last ? "; then " : ", ";
    out += std::string(labels[i].name) + " " + std::to_string(labels[i].size);
  }
  return out;
}

}  // namespace netstacklat
