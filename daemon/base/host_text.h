// Text the host hands us (task names, cgroup paths, interface names) is
// bytes that any local user chooses: comm is writable through
// /proc/thread-self/comm, and cgroup and interface names may hold any byte
// but '/' and NUL. Prometheus drops a whole scrape whose label value is
// not UTF-8, and a terminal obeys the control bytes it is sent. So every
// such string is made valid where it enters the daemon's output.
#pragma once

#include <string>
#include <string_view>

namespace netstacklat {

// Whether s is well-formed UTF-8 (the Unicode standard's table 3-7, as Go's
// utf8.ValidString: no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// s with each maximal ill-formed subsequence replaced by U+FFFD, the
// Unicode standard's recommended practice (Python's errors="replace" does
// the same). Valid text comes back unchanged. Two names that differ only
// in invalid bytes become one label value; their series are summed.
std::string ValidUtf8(std::string_view s);

// For a terminal: ValidUtf8(s), then every C0 and C1 control, DEL and
// bidirectional override shown as an escape ("\x1b", "\u202e"), and a
// backslash as "\\", so what is printed is what the name is.
std::string PrintableText(std::string_view s);

}  // namespace netstacklat
