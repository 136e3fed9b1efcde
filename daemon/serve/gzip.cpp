#include "serve/gzip.h"

#include <zlib.h>

#include <cstring>
#include <stdexcept>

namespace netstacklat {

std::string GzipCompress(const std::string& data) {
  z_stream zs = {};
  // windowBits 15 + 16: a gzip wrapper instead of zlib's. Level 1: a scrape
  // is latency-bound, and level 1 already gets most of the ratio on text.
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace netstacklat
