// An exemplar's labels from a captured sample (struct nstl_exemplar): who
// the slowest packet of a scrape interval was, in names an SRE reads at a
// glance, ordered by importance so that OpenMetrics' 128-character limit
// drops the least useful first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "host/name_resolver.h"
#include "kernel/map_reader.h"
#include "metrics/histogram_extras.h"

namespace netstacklat {

// "tcp 10.0.0.1:443->10.0.0.2:51000", "udp [fd00::1]:53->[fd00::2]:40000"
// (source -> destination, as the packet travelled); "" without a flow.
std::string FormatFlow(const struct nstl_exemplar& e);

// Labels flow, comm, pid (socket reads: the reading process), cpu, iface
// (its name, else its index), cgroup (socket reads; its path, else its id),
// those of them in `labels` (ExemplarLabelBit; names are looked up only for
// those); value: the latency in the histogram's unit; timestamp: when the
// packet was seen by the hook, Unix seconds.
Exemplar MakeExemplar(const ExemplarRow& row, NameResolver& names, double multiplier,
                      uint32_t labels);

}  // namespace netstacklat
