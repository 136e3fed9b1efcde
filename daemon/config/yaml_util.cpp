#include "config/yaml_util.h"

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

namespace netstacklat {

void Context::Fail(const YAML::Node& node, const std::string& what) const {
  const YAML::Mark mark = node.Mark();
  std::ostringstream msg;
  msg << source_;
  if (!mark.is_null()) msg << ":" << mark.line + 1 << ":" << mark.column + 1;
  msg << ": " << (path_.empty() ? "(top level)" : path_) << ": " << what;
  throw ConfigError(msg.str());
}

void RejectDuplicateKeys(const YAML::Node& node, const Context& ctx) {
  std::map<std::string, int> first_line;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const auto [it, fresh] = first_line.emplace(kv.first.Scalar(), kv.first.Mark().line + 1);
    if (!fresh)
      ctx.Child(it->first).Fail(kv.first,
                                "given twice (first on line " + std::to_string(it->second) + ")");
  }
}

void RequireMap(const YAML::Node& node, const Context& ctx, const std::set<std::string>& allowed) {
  if (!node.IsMap()) ctx.Fail(node, "must be a mapping");
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) ctx.Fail(kv.first, "keys must be plain strings");
    const std::string key = kv.first.Scalar();
    if (!allowed.count(key)) ctx.Child(key).Fail(kv.first, "unknown or unsupported key");
  }
  RejectDuplicateKeys(node, ctx);
}

YAML::Node Required(const YAML::Node& parent, const std::string& key, const Context& ctx) {
  const YAML::Node node = parent[key];
  if (!node) ctx.Fail(parent, "missing required key '" + key + "'");
  return node;
}

uint32_t UnsignedIn(const YAML::Node& node, const Context& ctx, uint32_t lo, uint32_t hi) {
  const auto v = Scalar<int64_t>(node, ctx, "an integer");
  if (v < lo || v > hi)
    ctx.Fail(node, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", not " + std::to_string(v));
  return static_cast<uint32_t>(v);
}

std::string ReadConfigText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open: " + ErrnoText(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ConfigError LocatedError(const std::string& source, const YAML::Exception& e) {
  return ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": " + e.msg);
}

}  // namespace netstacklat
