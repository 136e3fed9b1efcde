#include "config/secret_files.h"

#include <fmt/format.h>
#include <sys/stat.h>

namespace netstacklat {
namespace {

// What is wrong with `path`'s mode, or "" (also if it cannot be read: the
// loader reports that).
std::string Exposure(const std::string& path, bool secret) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0) return "";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return fmt::format(
        "{} is writable by {} (mode {:04o}): whoever may write it decides who "
        "gets in; make it writable by its owner only",
        path, st.st_mode & S_IWOTH ? "every user" : "its group", st.st_mode & 07777);
  if (secret && (st.st_mode & S_IROTH))
    return fmt::format(
        "{} is readable by every user (mode {:04o}): chmod 0640 and "
        "chgrp netstacklat-exporter (or the daemon's user)",
        path, st.st_mode & 07777);
  return "";
}

}  // namespace

std::vector<std::string> ExposedSecretFiles(const WebConfig& web) {
  // The web config holds secrets only with password hashes; a certificate
  // and a CA are public, only who may replace them matters.
  const std::pair<std::string, bool> files[] = {
      {web.source, !web.basic_auth_users.empty()},
      {web.tls.key_file, true},
      {web.tls.cert_file, false},
      {web.tls.client_ca_file, false},
  };
  std::vector<std::string> warnings;
  for (const auto& [path, secret] : files)
    if (std::string w = Exposure(path, secret); !w.empty()) warnings.push_back(std::move(w));
  return warnings;
}

}  // namespace netstacklat
