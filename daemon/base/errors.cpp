#include "base/errors.h"

#include <cstring>

namespace netstacklat {

std::string ErrnoText(int err) {
  if (err < 0) err = -err;
  return std::strerror(err);
}

}  // namespace netstacklat
