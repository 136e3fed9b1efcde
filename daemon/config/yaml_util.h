// Strict YAML reading for config files: every error names the file, line,
// column and dotted key ("file:3:7: metrics.histograms[0].help: ...").
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>

#include "base/errors.h"

namespace netstacklat {

// Carries the file name and the dotted key path down the tree for messages.
class Context {
 public:
  Context(std::string source, std::string path)
      : source_(std::move(source)), path_(std::move(path)) {}

  Context Child(const std::string& key) const {
    return Context(source_, path_.empty() ? key : path_ + "." + key);
  }
  Context Index(size_t i) const { return Context(source_, path_ + "[" + std::to_string(i) + "]"); }

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& what) const;

 private:
  std::string source_;
  std::string path_;
};

// A mapping whose keys are all in `allowed`, each given once.
void RequireMap(const YAML::Node& node, const Context& ctx, const std::set<std::string>& allowed);

// A key given twice is an error: yaml-cpp answers a lookup with the first,
// so the second would be ignored (a map read by iteration keeps the last).
void RejectDuplicateKeys(const YAML::Node& node, const Context& ctx);

YAML::Node Required(const YAML::Node& parent, const std::string& key, const Context& ctx);

template <typename T>
T Scalar(const YAML::Node& node, const Context& ctx, const char* type) {
  if (!node.IsScalar()) ctx.Fail(node, std::string("must be ") + type);
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    ctx.Fail(node, std::string("must be ") + type + ", not '" + node.Scalar() + "'");
  }
}

uint32_t UnsignedIn(const YAML::Node& node, const Context& ctx, uint32_t lo, uint32_t hi);

// The whole file; throws ConfigError "path: cannot open: <why>".
std::string ReadConfigText(const std::string& path);

// A yaml-cpp exception (syntax error, or any surprise) as a located ConfigError.
ConfigError LocatedError(const std::string& source, const YAML::Exception& e);

}  // namespace netstacklat
