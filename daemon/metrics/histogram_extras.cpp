#include "metrics/histogram_extras.h"

namespace netstacklat {

std::vector<prometheus::ClientMetric::Label> FitExemplarLabels(
    std::vector<prometheus::ClientMetric::Label> labels) {
  size_t used = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    used += labels[i].name.size() + labels[i].value.size();
    if (used > kExemplarLabelLimit) {
      labels.resize(i);
      break;
    }
  }
  return labels;
}

}  // namespace netstacklat
