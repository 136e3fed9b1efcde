#include <catch2/catch.hpp>
#include <cstring>

#include "fakes.h"
#include "metrics/label_decoder.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

template <typename T>
std::string Bytes(T v) {
  std::string s(sizeof(v), '\0');
  std::memcpy(s.data(), &v, sizeof(v));
  return s;
}

LabelSpec Label(uint32_t size, std::vector<DecoderSpec> decoders) {
  return LabelSpec{"l", size, std::move(decoders)};
}

}  // namespace

TEST_CASE("uint renders the little-endian integer of each size") {
  FakeNameResolver names;
  std::string out;
  const LabelSpec s1 = Label(1, {{"uint", {}}});
  CHECK(LabelDecoder(s1, names).Decode(Bytes<uint8_t>(200), &out));
  CHECK(out == "200");
  const LabelSpec s8 = Label(8, {{"uint", {}}});
  CHECK(LabelDecoder(s8, names).Decode(Bytes<uint64_t>(18446744073709551615ULL), &out));
  CHECK(out == "18446744073709551615");
}

TEST_CASE("static_map maps text and marks misses unknown") {
  FakeNameResolver names;
  const LabelSpec spec = Label(2, {{"uint", {}}, {"static_map", {{"1", "ip-start"}}}});
  LabelDecoder d(spec, names);
  std::string out;
  CHECK(d.Decode(Bytes<uint16_t>(1), &out));
  CHECK(out == "ip-start");
  CHECK(d.Decode(Bytes<uint16_t>(42), &out));
  CHECK(out == "unknown:42");
}

TEST_CASE("static_map on raw bytes is a decoder error") {
  FakeNameResolver names;
  const LabelSpec spec = Label(2, {{"static_map", {{"1", "x"}}}});
  std::string out;
  CHECK_FALSE(LabelDecoder(spec, names).Decode(Bytes<uint16_t>(1), &out));
}

TEST_CASE("ifname resolves indexes; unknown and 0 become unknown:<index>") {
  FakeNameResolver names;
  names.interfaces[1] = "lo";
  const LabelSpec spec = Label(4, {{"ifname", {}}});
  LabelDecoder d(spec, names);
  std::string out;
  CHECK(d.Decode(Bytes<uint32_t>(1), &out));
  CHECK(out == "lo");
  CHECK(d.Decode(Bytes<uint32_t>(0), &out));
  CHECK(out == "unknown:0");
  CHECK(d.Decode(Bytes<uint32_t>(9), &out));
  CHECK(out == "unknown:9");
}

TEST_CASE("cgroup takes the uint's text and renders paths or unknown_cgroup_id") {
  FakeNameResolver names;
  names.cgroups[4242] = "/sys/fs/cgroup/user.slice";
  const LabelSpec spec = Label(8, {{"uint", {}}, {"cgroup", {}}});
  LabelDecoder d(spec, names);
  std::string out;
  CHECK(d.Decode(Bytes<uint64_t>(4242), &out));
  CHECK(out == "/sys/fs/cgroup/user.slice");
  CHECK(d.Decode(Bytes<uint64_t>(0), &out));
  CHECK(out == "unknown_cgroup_id:0");
}

TEST_CASE("resolved names are cached; failed lookups are retried later") {
  FakeNameResolver names;
  names.interfaces[3] = "veth1";
  const LabelSpec spec = Label(4, {{"ifname", {}}});
  LabelDecoder d(spec, names);
  std::string out;
  d.Decode(Bytes<uint32_t>(3), &out);
  d.Decode(Bytes<uint32_t>(3), &out);
  CHECK(names.lookups == 1);
  d.Decode(Bytes<uint32_t>(8), &out);
  CHECK(out == "unknown:8");
  names.interfaces[8] = "veth8";  // the interface appeared
  d.Decode(Bytes<uint32_t>(8), &out);
  CHECK(out == "veth8");
}
