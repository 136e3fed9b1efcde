// Exemplar labels that name other parties and workloads (flows, processes,
// cgroups), served where anyone who reaches the port may scrape: accepted
// (an admin's choice, docs/security.md), but said at start and at each
// reload, as exposed secret files are (secret_files.h).
#pragma once

#include <string>

#include "config/daemon_config.h"

namespace netstacklat {

// "" unless exemplars are on with a label of kIdentifyingExemplarLabels
// while the port takes scrapes from anyone: no basic auth users, no
// verified client certificates required, a listen address beyond
// loopback. Else one line naming the labels and the fixes.
std::string ExemplarExposureWarning(const DaemonConfig& config);

}  // namespace netstacklat
