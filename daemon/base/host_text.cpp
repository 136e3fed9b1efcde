#include "base/host_text.h"

#include <cstdint>
#include <cstdio>

namespace netstacklat {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

// The length of the well-formed sequence at s[i] (> 0), or minus the
// length of the maximal ill-formed subsequence there (< 0): the longest
// prefix of a well-formed sequence, at least one byte.
int SequenceAt(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  int length = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // the second byte's range (table 3-7)
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) lo = 0xa0;  // no overlong forms
    if (lead == 0xed) hi = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) lo = 0x90;  // no overlong forms
    if (lead == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return -1;  // a continuation byte, C0, C1 or F5..FF: never a lead
  }
  for (int k = 1; k < length; ++k) {
    const size_t at = i + static_cast<size_t>(k);
    const uint8_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xbf;
    if (at >= s.size() || byte(at) < min || byte(at) > max) return -k;
  }
  return length;
}

uint32_t CodePoint(std::string_view seq) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(seq[k])); };
  switch (seq.size()) {
    case 1:
      return b(0);
    case 2:
      return (b(0) & 0x1f) << 6 | (b(1) & 0x3f);
    case 3:
      return (b(0) & 0x0f) << 12 | (b(1) & 0x3f) << 6 | (b(2) & 0x3f);
    default:
      return (b(0) & 0x07) << 18 | (b(1) & 0x3f) << 12 | (b(2) & 0x3f) << 6 | (b(3) & 0x3f);
  }
}

// Code points a terminal acts on rather than shows: C0, DEL, C1, and the
// bidirectional embeddings, overrides and isolates (which reorder what
// follows them on the line).
bool ActsOnTerminal(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const int n = SequenceAt(s, i);
    if (n < 0) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

std::string ValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const int n = SequenceAt(s, i);
    if (n > 0) {
      out.append(s.substr(i, static_cast<size_t>(n)));
      i += static_cast<size_t>(n);
    } else {
      out.append(kReplacement);
      i += static_cast<size_t>(-n);
    }
  }
  return out;
}

std::string PrintableText(std::string_view s) {
  const std::string valid = ValidUtf8(s);
  std::string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size();) {
    const auto n = static_cast<size_t>(SequenceAt(valid, i));
    const std::string_view seq(valid.data() + i, n);
    const uint32_t cp = CodePoint(seq);
    if (cp == '\\') {
      out += "\\\\";
    } else if (ActsOnTerminal(cp)) {
      char escape[16];
      std::snprintf(escape, sizeof(escape), cp < 0x100 ? "\\x%02x" : "\\u%04x", cp);
      out += escape;
    } else {
      out.append(seq);
    }
    i += n;
  }
  return out;
}

}  // namespace netstacklat
