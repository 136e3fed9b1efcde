// netstacklat-exporter's start-up sequence, and nothing else: check both
// config files -> bind the port -> RX timestamps on -> load and attach the
// BPF programs -> drop every capability (still one thread) -> start the
// HTTP threads -> READY=1 -> wait for signals (SIGHUP reloads) -> detach.
// docs/architecture.md shows where each step lives.
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "base/errors.h"
#include "config/cli.h"
#include "config/daemon_config.h"
#include "config/exemplar_exposure.h"
#include "config/secret_files.h"
#include "host/name_resolver.h"
#include "kernel/attach_probe.h"
#include "kernel/bpf_loader.h"
#include "kernel/clock_offset.h"
#include "kernel/map_reader.h"
#include "kernel/rx_timestamping.h"
#include "metrics/collector.h"
#include "ops/capabilities.h"
#include "ops/cgroup_follower.h"
#include "ops/clock_set_watch.h"
#include "ops/logging.h"
#include "ops/reload.h"
#include "ops/reload_status.h"
#include "ops/signals.h"
#include "report/terminal_report.h"
#include "serve/web_server.h"

namespace netstacklat {
namespace {

// How soon a new cgroup that a cgroup_id_map selects starts to count.
constexpr double kCgroupPollSeconds = 1;
// How long --reload waits for the outcome: under the unit's 60 s timeout.
constexpr double kReloadWaitSeconds = 50;

// A reload's outcome where systemd and `systemctl reload` see it: the
// unit's status line and the file --reload waits for.
void PublishReload(const ReloadOutcome& outcome, const std::string& attached,
                   ReloadStatusFile& file) {
  file.Publish(outcome);
  const std::string status =
      outcome.ok ? attached : "reload failed, running the previous config: " + outcome.message;
  sd_notifyf(0, "STATUS=%s", status.c_str());
}

int Run(const Options& opts) {
  if (opts.list_hooks) {
    const AttachProbe probe;
    std::fputs(BpfLoader(probe).DescribeHooks(probe).c_str(), stdout);
    return 0;
  }
  // Both config files, and what the web server would refuse at start, are
  // checked before the kernel is touched.
  DaemonConfig daemon = ResolveConfig(opts);
  const MetricsConfig config = ServedMetricsConfig(daemon);
  ApplyCgroupIdMap(config, &daemon);
  CheckServingConfig(daemon.listen_address, daemon.web);
  for (const std::string& warning : ExposedSecretFiles(daemon.web)) spdlog::warn("{}", warning);
  if (const std::string w = ExemplarExposureWarning(daemon); !w.empty()) spdlog::warn("{}", w);
  if (opts.config_check) {
    std::printf("%s: config OK\n%s: config OK\n", daemon.source.c_str(), config.source.c_str());
    return 0;
  }
  const sigset_t signals = BlockSignals();  // before any thread starts

  // Bound now: connections wait in the backlog until the HTTP threads start.
  std::unique_ptr<WebServer> web;
  if (opts.report_once == 0) {
    HttpLimits limits;
    limits.ipv6_source_prefix = daemon.client_ipv6_prefix;
    web = std::make_unique<WebServer>(daemon.listen_address, daemon.telemetry_path, daemon.web,
                                      limits);
  }
  RxTimestamping rx_timestamping;
  const AttachProbe probe;
  BpfLoader bpf(probe);
  // The clock and its offset before the programs load: none runs with 0.
  ClockOffsetKeeper clock(bpf.ChooseClock(daemon.histogram.clock),
                          [&bpf](int64_t ns) { bpf.SetClockOffset(ns); });
  clock.Refresh();
  bpf.SetLatencyUnitNs(config.histograms[0].UnitNs());
  bpf.LoadAndAttach(probe, daemon);
  // Before the drop: the ring of new cgroups is mapped, and another
  // namespace's interfaces are opened by entering it.
  std::optional<CgroupFollower> follower;
  if (bpf.CgroupEventsFd() >= 0) follower.emplace(bpf, daemon.filters);
  SystemNameResolver names(daemon.filters.interface_namespace);
  const bool keep_cap_bpf = BpfNeedsCapability(bpf.HistogramMapFd());
  DropPrivileges(daemon.run_as_user, keep_cap_bpf);  // still one thread: it reaches them all
  spdlog::info("dropped {}{}",
               keep_cap_bpf ? "every capability but CAP_BPF (this kernel refuses every bpf() "
                              "call, map reads included, without it)"
                            : "all capabilities",
               daemon.run_as_user.empty() ? "" : ", running as user " + daemon.run_as_user);

  LatencyMaps maps(bpf.HistogramMapFd(), bpf.GroupedMapFd());
  auto collector = std::make_shared<Collector>("netstacklat", config.histograms[0], maps, bpf,
                                               names, Collector::MonotonicSeconds);
  collector->SetReloadResult(true, Collector::UnixSeconds());
  collector->SetLabelSetIdleSeconds(daemon.grouping.label_set_idle_seconds);
  collector->SetNativeHistograms(daemon.histogram.native_histograms,
                                 daemon.histogram.native_schema);
  collector->SetExemplarLabels(daemon.histogram.exemplar_labels);
  collector->SetExemplarIntervals([&bpf] { return bpf.CloseExemplarInterval(); },
                                  web ? daemon.histogram.exemplar_interval_seconds : 0);
  if (!web) {
    ReportOnce(*collector, opts.report_once, signals);
    return 0;
  }
  web->SetCollector(collector);
  web->Start();
  if (const auto held = ThreadsHoldingCapabilities(keep_cap_bpf); !held.empty())
    throw StartupError("a thread holds capabilities: " + held.front());
  spdlog::info("serving {} on {} (port {}); no capability {}in any of {} threads",
               daemon.telemetry_path, daemon.listen_address, web->Port(),
               keep_cap_bpf ? "but CAP_BPF " : "", ThreadCount());
  // Type=notify: ready only now that the port is bound and the hooks attached.
  sd_notifyf(0, "READY=1\nSTATUS=%s", bpf.AttachedSummary().c_str());

  DaemonConfig running = daemon;
  std::optional<TerminalReport> reporter;
  if (opts.report_interval > 0) reporter.emplace(*collector);
  // One tick for all that is periodic: the cgroup_id_map's new cgroups (if
  // followed, every second), the clock offset, the terminal report.
  double tick = clock.RefreshSeconds();
  if (follower) tick = std::min(tick, kCgroupPollSeconds);
  if (reporter) tick = std::min(tick, static_cast<double>(opts.report_interval));
  double next_clock = Collector::MonotonicSeconds() + clock.RefreshSeconds();
  ClockSetWatch clock_set;
  ReloadStatusFile reload_status(RuntimeDirectory());
  double next_report = Collector::MonotonicSeconds() + opts.report_interval;
  const int sig = WaitForTermination(
      [&] {
        PublishReload(Reload(opts, &running, bpf, *collector, *web), bpf.AttachedSummary(),
                      reload_status);
      },
      [&] {
        if (follower) follower->Poll();
        // Half a tick of slack: a tick due at the same time is not skipped.
        const double now = Collector::MonotonicSeconds() + tick / 2;
        if (now >= next_clock) {
          clock.Refresh();
          next_clock = now + clock.RefreshSeconds();
        }
        if (reporter && now >= next_report) {
          reporter->Print();
          next_report += opts.report_interval;
        }
      },
      tick, signals,
      WatchedFd{clock_set.fd(), [&] {
                  if (!clock_set.TakeClockSet()) return;
                  spdlog::info("the realtime clock was set: re-reading the {} clock's offset",
                               BpfClockName(clock.clock()));
                  clock.Refresh();
                }});
  sd_notify(0, "STOPPING=1");
  spdlog::info("{}: detaching and exiting", strsignal(sig));
  web->Stop();  // no scrape may run while the maps and links go
  return 0;     // destructors: links detach, programs unload
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
  if (const auto info = InfoText(opts)) {
    std::fputs(info->c_str(), stdout);
    return 0;
  }
  if (opts.reload_pid > 0)
    return RequestReload(opts.reload_pid, RuntimeDirectory(), kReloadWaitSeconds);
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
