// One label's decoder chain, as ebpf_exporter runs it: the first decoder
// sees the label's raw key bytes, each next one the text the previous made.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/metrics_config.h"
#include "host/name_resolver.h"

namespace netstacklat {

class LabelDecoder {
 public:
  LabelDecoder(const LabelSpec& spec, NameResolver& resolver);

  // Decodes raw (spec.size bytes) into *out; false on a decoder error (the
  // caller drops the series and counts the error, as ebpf_exporter does).
  bool Decode(std::string_view raw, std::string* out);

 private:
  struct Step {
    bool ok = true;
    bool cacheable = true;  // a name lookup that failed may work later
  };
  Step Apply(const DecoderSpec& d, bool raw, std::string* value);

  const LabelSpec& spec_;
  NameResolver& resolver_;
  // raw bytes -> text; cleared when it reaches kMaxCached: ids of cgroups
  // and interfaces that came and went would otherwise pile up for good.
  std::unordered_map<std::string, std::string> cache_;
  static constexpr size_t kMaxCached = 16384;
};

}  // namespace netstacklat
