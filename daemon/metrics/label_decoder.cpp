#include "metrics/label_decoder.h"

#include <charconv>
#include <cstring>

#include "base/host_text.h"

namespace netstacklat {
namespace {

bool RawUint(const std::string& bytes, uint64_t* v) {
  switch (bytes.size()) {
    case 1:
      *v = static_cast<uint8_t>(bytes[0]);
      return true;
    case 2: {
      uint16_t x;
      std::memcpy(&x, bytes.data(), 2);
      *v = x;
      return true;
    }
    case 4: {
      uint32_t x;
      std::memcpy(&x, bytes.data(), 4);
      *v = x;
      return true;
    }
    case 8:
      std::memcpy(v, bytes.data(), 8);
      return true;
    default:
      return false;
  }
}

bool TextUint(const std::string& text, uint64_t* v) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *v);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Decoders after the first one get text; ifname and cgroup take either.
bool AnyUint(const std::string& value, bool raw, uint64_t* v) {
  return raw ? RawUint(value, v) : TextUint(value, v);
}

}  // namespace

LabelDecoder::LabelDecoder(const LabelSpec& spec, NameResolver& resolver)
    : spec_(spec), resolver_(resolver) {}

bool LabelDecoder::Decode(std::string_view raw, std::string* out) {
  std::string key(raw);
  if (auto hit = cache_.find(key); hit != cache_.end()) {
    *out = hit->second;
    return true;
  }
  std::string value = key;
  bool cacheable = true;
  bool is_raw = true;
  for (const DecoderSpec& d : spec_.decoders) {
    const Step step = Apply(d, is_raw, &value);
    if (!step.ok) return false;
    cacheable = cacheable && step.cacheable;
    is_raw = false;
  }
  // Interface names and cgroup paths are any local user's choice of bytes.
  value = ValidUtf8(value);
  if (cacheable) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_.emplace(std::move(key), value);
  }
  *out = std::move(value);
  return true;
}

LabelDecoder::Step LabelDecoder::Apply(const DecoderSpec& d, bool raw, std::string* value) {
  uint64_t n = 0;
  if (d.name == "uint") {
    if (!AnyUint(*value, raw, &n)) return {false, false};
    *value = std::to_string(n);
  } else if (d.name == "static_map") {
    if (raw) return {false, false};  // needs text, e.g. from uint
    const auto it = d.static_map.find(*value);
    *value = it != d.static_map.end() ? it->second : "unknown:" + *value;
  } else if (d.name == "ifname") {
    if (!AnyUint(*value, raw, &n) || n > UINT32_MAX) return {false, false};
    const auto name = resolver_.InterfaceName(static_cast<uint32_t>(n));
    *value = name ? *name : "unknown:" + std::to_string(n);
    return {true, name.has_value() || n == 0};
  } else if (d.name == "cgroup") {
    if (!AnyUint(*value, raw, &n)) return {false, false};
    const auto path = resolver_.CgroupPath(n);
    *value = path ? *path : "unknown_cgroup_id:" + std::to_string(n);
    return {true, path.has_value() || n == 0};
  } else {
    return {false, false};  // rejected by the config parser already
  }
  return {};
}

}  // namespace netstacklat
