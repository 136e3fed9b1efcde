// Files of the web config that others may read or write: accepted (an
// admin's choice), but said at start and at each reload. A web config with
// password hashes or a TLS key that every local user can read gives the
// hashes to offline guessing and the key away; one that others can write
// lets them choose who gets in.
#pragma once

#include <string>
#include <vector>

#include "config/web_config.h"

namespace netstacklat {

// One warning per exposed file, naming it, who may do what, and the fix.
std::vector<std::string> ExposedSecretFiles(const WebConfig& web);

}  // namespace netstacklat
