#pragma once
// The labels of the histogram map's key (struct hist_key in
// bpf/netstacklat.h), one row each: where the field sits, and for a label
// the daemon groups by on request, its config key and the BPF switch that
// fills it. Every place that needs the key's labels reads this table, so a
// new label is a field in the key, its fill in BPF, a Grouping member and
// a row here (docs/architecture.md, "Adding a label"); test_key_labels
// fails while the table and the key disagree.
#include <cstddef>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "netstacklat.h"

namespace netstacklat {

struct KeyLabel {
  const char* name;  // the label in the metrics config ("iface")
  size_t offset;     // the field in struct hist_key
  size_t size;
  // Grouping labels only (else nullptr): the key under `grouping:`, what
  // start-up logs, the DaemonConfig member and the netstacklat_config
  // switch it sets. Without grouping the field stays 0.
  const char* grouping_key;
  const char* noun;
  bool Grouping::*enabled;
  __u8 netstacklat_config::*bpf_switch;
};

// In the key's field order, the bucket last.
const std::vector<KeyLabel>& KeyLabels();

// Only the rows a config may group by.
const std::vector<const KeyLabel*>& GroupingLabels();

// "cgroup 8, iface 4, hook 2; then bucket 2": for error messages.
std::string DescribeKeyLabels();

}  // namespace netstacklat
