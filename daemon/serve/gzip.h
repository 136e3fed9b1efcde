// gzip for scrape responses, when the scraper asks for it (Prometheus does).
#pragma once

#include <string>

namespace netstacklat {

std::string GzipCompress(const std::string& data);  // throws std::runtime_error

}  // namespace netstacklat
