// A filter set in a BPF hash map (key present = selected), brought to the
// wanted keys without a moment where a wanted key is missing: the programs
// read the map while it changes (a reload, a cgroup that appears).
#pragma once

#include <bpf/libbpf.h>
#include <linux/types.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/errors.h"

namespace netstacklat {

// Throws StartupError naming the map if a key cannot be added.
template <typename Key>
void SyncSet(struct bpf_map* map, const std::vector<Key>& wanted) {
  const __u8 on = 1;
  for (const Key& key : wanted)
    if (int err = bpf_map__update_elem(map, &key, sizeof(key), &on, sizeof(on), BPF_ANY); err)
      throw StartupError(std::string("filling ") + bpf_map__name(map) + ": " + ErrnoText(err));
  // Then drop what is no longer wanted (adding first: no gap in coverage).
  std::vector<Key> stale;
  Key key{}, next{};
  const Key* prev = nullptr;
  while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
    if (std::find(wanted.begin(), wanted.end(), next) == wanted.end()) stale.push_back(next);
    key = next;
    prev = &key;
  }
  for (const Key& k : stale) bpf_map__delete_elem(map, &k, sizeof(k), 0);
}

}  // namespace netstacklat
