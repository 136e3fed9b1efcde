// The one line a refused bpf() start prints: it must name the seccomp filter
// when the capability is there, not ask for a capability the process has.
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "kernel/bpf_permission.h"

using namespace netstacklat;

namespace {
bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("a refusal without CAP_BPF asks for the capabilities", "[bpf_permission]") {
  const std::string text = BpfRefusalText({-EPERM, false, 2});
  CHECK(Has(text, "no permission to use BPF"));
  CHECK(Has(text, "CAP_BPF and CAP_PERFMON"));
  CHECK_FALSE(Has(text, "seccomp"));
}

TEST_CASE("a refusal with CAP_BPF under a seccomp filter names the filter", "[bpf_permission]") {
  const std::string text = BpfRefusalText({-EPERM, true, 2});
  CHECK(Has(text, "a seccomp filter refuses bpf()"));
  CHECK(Has(text, "CAP_SYS_ADMIN"));
  CHECK(Has(text, "docs/deployment.md"));
  CHECK_FALSE(Has(text, "run as root"));
}

TEST_CASE("a refusal with CAP_BPF and no filter is not blamed on seccomp", "[bpf_permission]") {
  // e.g. an LSM: the text stays the generic one.
  CHECK_FALSE(Has(BpfRefusalText({-EPERM, true, 0}), "seccomp"));
}

TEST_CASE("other errors say BPF is not usable", "[bpf_permission]") {
  const std::string text = BpfRefusalText({-ENOSYS, true, 2});
  CHECK(Has(text, "BPF is not usable here"));
  CHECK_FALSE(Has(text, "seccomp"));
}
