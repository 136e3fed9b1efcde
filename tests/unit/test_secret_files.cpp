// Web config files that others may read or write are named in a warning.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/secret_files.h"

using namespace netstacklat;

namespace {

std::string File(const std::string& dir, const std::string& name, mode_t mode) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << "x\n";
  chmod(path.c_str(), mode);
  return path;
}

}  // namespace

TEST_CASE("web config files others may read or write are named") {
  char tmpl[] = "/tmp/nstl-secrets-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  WebConfig web;
  web.source = File(dir, "web.yml", 0640);
  web.basic_auth_users["alice"] = "$2b$10$x";
  web.tls.key_file = File(dir, "tls.key", 0640);
  web.tls.cert_file = File(dir, "tls.crt", 0644);  // public: readable is fine
  web.tls.client_ca_file = File(dir, "ca.crt", 0644);
  CHECK(ExposedSecretFiles(web).empty());

  chmod(web.source.c_str(), 0644);  // password hashes for every user
  chmod(web.tls.key_file.c_str(), 0604);
  chmod(web.tls.client_ca_file.c_str(), 0664);  // the group picks who gets in
  const auto warnings = ExposedSecretFiles(web);
  REQUIRE(warnings.size() == 3);
  CHECK_THAT(warnings[0], Catch::StartsWith(web.source + " is readable by every user (mode 0644)"));
  CHECK_THAT(warnings[1], Catch::StartsWith(web.tls.key_file + " is readable by every user"));
  CHECK_THAT(warnings[2],
             Catch::StartsWith(web.tls.client_ca_file + " is writable by its group (mode 0664)"));

  web.basic_auth_users.clear();  // no hashes in it: readable is fine, writable is not
  chmod(web.source.c_str(), 0646);
  const auto writable = ExposedSecretFiles(web);
  REQUIRE(writable.size() == 3);
  CHECK_THAT(writable[0], Catch::StartsWith(web.source + " is writable by every user"));
  std::filesystem::remove_all(dir);
}
