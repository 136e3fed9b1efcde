// netstacklat-exporter: parse flags and both config files -> bind the port
// -> enable RX timestamps -> load and attach BPF -> drop every capability
// (still one thread) -> start the HTTP threads -> notify -> wait for a
// signal -> detach everything.
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "base/errors.h"
#include "config/cli.h"
#include "config/metrics_config.h"
#include "host/name_resolver.h"
#include "kernel/attach_probe.h"
#include "kernel/bpf_loader.h"
#include "kernel/map_reader.h"
#include "kernel/rx_timestamping.h"
#include "kernel/tai_offset.h"
#include "metrics/collector.h"
#include "ops/capabilities.h"
#include "ops/logging.h"
#include "ops/report.h"
#include "serve/web_server.h"
#include "version.h"

namespace netstacklat {
namespace {

// How often the TAI offset is re-read (leap seconds, NTP starting late).
constexpr int kTaiRefreshSeconds = 60;

MetricsConfig LoadMetricsConfig(const DaemonConfig& daemon) {
  MetricsConfig config =
      daemon.metrics_config.empty()
          ? ParseMetricsConfig(kBuiltinMetricsConfig, "<built-in netstacklat.yaml>")
          : LoadMetricsConfigFile(daemon.metrics_config);
  ValidateForProgram(config);
  // The daemon config's histogram range narrows what is served.
  HistogramSpec& h = config.histograms[0];
  h.served_min = std::max(h.bucket_min, daemon.histogram.bucket_min);
  h.served_max = std::max(h.served_min, std::min(h.bucket_max, daemon.histogram.bucket_max));
  return config;
}

int ListHooks() {
  BpfLoader bpf;
  std::fputs(bpf.DescribeHooks(AttachProbe()).c_str(), stdout);
  return 0;
}

void RefreshTaiOffset(BpfLoader& bpf, int64_t* current) {
  const auto offset = ReadTaiOffsetNs();
  if (!offset) {
    spdlog::warn("cannot read the TAI offset; keeping {} ns", *current);
  } else if (*offset != *current) {
    bpf.SetTaiOffset(*offset);
    spdlog::info("TAI offset is now {} s", *offset / 1000000000);
    *current = *offset;
  }
}

std::string StatusLine(const BpfLoader& bpf) {
  size_t attached = 0;
  const auto hooks = bpf.Hooks();
  for (const HookStatus& h : hooks) attached += h.attached();
  return std::to_string(attached) + " of " + std::to_string(hooks.size()) + " hooks attached";
}

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// SIGHUP: re-read the config file; filters and grouping change in place
// (counts are kept); an invalid file leaves the running config in force.
void Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf, Collector& collector) {
  try {
    DaemonConfig next = ResolveConfig(opts);
    if (next.hooks != running->hooks || next.listen_address != running->listen_address ||
        next.telemetry_path != running->telemetry_path ||
        next.metrics_config != running->metrics_config ||
        next.web_config_file != running->web_config_file ||
        next.histogram.bucket_min != running->histogram.bucket_min ||
        next.histogram.bucket_max != running->histogram.bucket_max ||
        next.histogram.atomic_increments != running->histogram.atomic_increments ||
        next.histogram.exemplars != running->histogram.exemplars ||
        next.histogram.exemplar_interval_seconds != running->histogram.exemplar_interval_seconds ||
        next.filters.interface_namespace != running->filters.interface_namespace)
      throw ConfigError(
          next.source +
          ": hooks, web (and its config file), metrics_config, histogram and "
          "interface_namespace changes need a restart; reload changes filters and grouping only");
    bpf.Reconfigure(next);
    collector.SetReloadResult(true, UnixSeconds());
    spdlog::info("reloaded {}", next.source);
    *running = std::move(next);
  } catch (const std::exception& e) {
    collector.SetReloadResult(false, 0);
    spdlog::error("reload failed, keeping the running config: {}", e.what());
  }
}

// The latency histogram family of a collection (the report's input), and
// the exemplars of the interval it ends (the collector's histogram family
// comes first, so their keys are (0, series)).
prometheus::MetricFamily Histograms(Collector& collector, Exemplars* exemplars) {
  for (auto& f : collector.CollectWithExemplars(exemplars))
    if (f.type == prometheus::MetricType::Histogram) return std::move(f);
  return {};
}

// Prints the samples since the last call (the terminal report), with the
// slowest packet of each series: the report ends exemplar intervals as an
// OpenMetrics scrape does.
class Reporter {
 public:
  explicit Reporter(Collector& c)
      : collector_(c), last_(Histograms(c, &exemplars_)), since_(Collector::MonotonicSeconds()) {}

  void Print() {
    exemplars_.clear();
    prometheus::MetricFamily now = Histograms(collector_, &exemplars_);
    const double t = Collector::MonotonicSeconds();
    std::fputs(FormatReport(last_, now, t - since_, &exemplars_).c_str(), stdout);
    std::fflush(stdout);
    last_ = std::move(now);
    since_ = t;
  }

 private:
  Collector& collector_;
  Exemplars exemplars_;
  prometheus::MetricFamily last_;
  double since_;
};

struct timespec Timespec(double seconds) {
  const auto whole = static_cast<time_t>(seconds);
  return {whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
}

// Signals are blocked in every thread and taken here, synchronously. Each
// wake-up without a signal refreshes the TAI offset and, if asked, reports.
int WaitForTermination(const std::function<void()>& reload, const std::function<void()>& tick,
                       double tick_seconds, const sigset_t& signals) {
  for (;;) {
    const struct timespec timeout = Timespec(tick_seconds);
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) return sig;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      reload();
      sd_notify(0, "READY=1");
    }
    if (sig < 0) tick();
  }
}

// --report-once: attach, wait (SIGTERM cuts it short), print, exit.
int ReportOnce(const Options& opts, Collector& collector, const sigset_t& signals) {
  Reporter reporter(collector);
  spdlog::info("reporting the next {} s", opts.report_once);
  const struct timespec wait = Timespec(opts.report_once);
  sigtimedwait(&signals, nullptr, &wait);
  reporter.Print();
  return 0;
}

int Run(const Options& opts) {
  if (opts.list_hooks) return ListHooks();
  // Both config files are read and checked before the kernel is touched.
  const DaemonConfig daemon = ResolveConfig(opts);
  const MetricsConfig config = LoadMetricsConfig(daemon);
  // What the web server would refuse at start (host, TLS files), refused
  // here too, with the same words.
  CheckServingConfig(daemon.listen_address, daemon.web);
  if (opts.config_check) {
    std::printf("%s: config OK\n%s: config OK\n", daemon.source.c_str(), config.source.c_str());
    return 0;
  }

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  // A peer gone mid-write is an error to handle, not a reason to die:
  // OpenSSL writes TLS 1.3 session tickets with write(), so a client that
  // closed right after its handshake killed the daemon with SIGPIPE (systemd
  // ignores it for services; a plain start or a container did not).
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<WebServer> web;
  if (opts.report_once == 0)
    web = std::make_unique<WebServer>(daemon.listen_address, daemon.telemetry_path, daemon.web);
  RxTimestamping rx_timestamping;
  BpfLoader bpf;
  int64_t tai_offset = 0;
  RefreshTaiOffset(bpf, &tai_offset);
  bpf.LoadAndAttach(AttachProbe(), daemon);
  // Before the drop: another namespace's interfaces are opened by entering it.
  SystemNameResolver names(daemon.filters.interface_namespace);
  // Still one thread here: the drop reaches every thread there will be.
  DropPrivileges(daemon.run_as_user);  // nothing below needs any
  spdlog::info("dropped all capabilities{}",
               daemon.run_as_user.empty() ? "" : ", running as user " + daemon.run_as_user);

  using Layout = BpfHistogramSource::Layout;
  BpfHistogramSource ungrouped(bpf.HistogramMapFd(), Layout::kHookArray);
  BpfHistogramSource grouped(bpf.GroupedMapFd(), Layout::kLabelSetHash);
  MergedSource reader({&ungrouped, &grouped});
  const std::string config_name = "netstacklat";
  auto collector = std::make_shared<Collector>(config_name, config.histograms[0], reader, bpf,
                                               names, Collector::MonotonicSeconds);
  collector->SetReloadResult(true, UnixSeconds());
  collector->SetExemplarIntervals([&bpf] { return bpf.CloseExemplarInterval(); },
                                  web ? daemon.histogram.exemplar_interval_seconds : 0);
  if (!web) return ReportOnce(opts, *collector, signals);
  web->Register(collector);
  web->Start();
  if (const auto held = ThreadsHoldingCapabilities(); !held.empty())
    throw StartupError("a thread holds capabilities: " + held.front());
  spdlog::info("serving {} on {} (port {}); no capability in any of {} threads",
               daemon.telemetry_path, daemon.listen_address, web->Port(), ThreadCount());
  // Type=notify: ready only now that the port is bound and the hooks attached.
  sd_notifyf(0, "READY=1\nSTATUS=%s", StatusLine(bpf).c_str());

  DaemonConfig running = daemon;
  std::optional<Reporter> reporter;
  if (opts.report_interval > 0) reporter.emplace(*collector);
  const int sig = WaitForTermination(
      [&] {
        Reload(opts, &running, bpf, *collector);
        web->ReloadTls();
      },
      [&] {
        RefreshTaiOffset(bpf, &tai_offset);
        if (reporter) reporter->Print();
      },
      reporter ? opts.report_interval : kTaiRefreshSeconds, signals);
  sd_notify(0, "STOPPING=1");
  spdlog::info("{}: detaching and exiting", strsignal(sig));
  web->Stop();  // no scrape may run while the maps and links go
  return 0;     // destructors: web server stops, links detach, programs unload
}

}  // namespace
}  // namespace netstacklat

int main(int argc, char** argv) {
  using namespace netstacklat;
  Options opts;
  try {
    opts = ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "netstacklat-exporter: %s\n", e.what());
    return 2;
  }
  if (opts.show_help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  if (opts.show_version) {
    std::printf("netstacklat-exporter, version %s (revision: %s)\n", kVersion, kRevision);
    return 0;
  }
  SetUpLogging(opts.log_level, opts.log_no_timestamps);
  try {
    return Run(opts);
  } catch (const ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
