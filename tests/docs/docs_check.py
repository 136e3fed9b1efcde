#!/usr/bin/env python3
"""The docs against the daemon, both ways, so neither drifts from the other:

  flags:    every daemon-style flag the docs name (--a.b, and any --x on a
            line that runs netstacklat-exporter) is one --help lists; every
            flag --help lists is in the man page and docs/configuration.md.
  config:   every config key the docs name (`section.key`) is one the daemon
            accepts (--config.check on a file with it does not call it
            unknown); every key it accepts is in docs/configuration.md's
            table and in the shipped config/netstacklat-exporter.yaml.
  metrics:  every metric name the docs, dashboard and rules use is one the
            daemon's sources define (or the metrics config's histogram);
            every metric the sources define is in docs/metrics.md.
  tests:    every ctest entry is described in tests/README.md (a `name*`
            pattern covers a family).
  links:    every relative link in README.md and docs/ names a file that
            exists.

Usage: docs_check.py --daemon BIN --build-dir DIR
Exit 0 pass, 1 fail."""
import argparse
import fnmatch
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAN = os.path.join(ROOT, "packaging", "netstacklat-exporter.8")
CONFIG_DOC = os.path.join(ROOT, "docs", "configuration.md")
METRICS_DOC = os.path.join(ROOT, "docs", "metrics.md")
SHIPPED_CONFIG = os.path.join(ROOT, "config", "netstacklat-exporter.yaml")
DAEMON_CONFIG_SRC = os.path.join(ROOT, "daemon", "config", "daemon_config.cpp")
KEY_LABELS_SRC = os.path.join(ROOT, "daemon", "config", "key_labels.cpp")

# Flags of other programs that the docs name beside ours, with whose they are.
FOREIGN_FLAGS = {"--config.dir": "ebpf_exporter"}
FLAG = r"(?<![\w-])(--[a-z][a-z0-9.-]*[a-z0-9])"
SECTIONS = ("web", "hooks", "filters", "grouping", "histogram")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def doc_files():
    return ([os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
            + [MAN, SHIPPED_CONFIG, os.path.join(ROOT, "tests", "README.md")]
            + sorted(glob.glob(os.path.join(ROOT, "systemd", "*"))))


def man_text():
    return read(MAN).replace("\\-", "-").replace("\\fI", "").replace("\\fR", "")


def text_of(path):
    return man_text() if path == MAN else read(path)


# --- flags ----------------------------------------------------------------------

def daemon_flags(daemon):
    out = subprocess.run([daemon, "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9.-]*[a-z0-9])", out))
    harness.check(len(flags) >= 10 and "--config.file" in flags,
                  f"--help lists the daemon's flags ({len(flags)})")
    return flags


def daemon_args(line):
    """The arguments where the line runs the daemon (its path, then flags), up
    to the next command of a pipeline or list; not where the path is the
    value of another program's flag (bench.py --daemon build/...)."""
    args = ""
    for m in re.finditer(r"[^\s`]*netstacklat-exporter(\s+--.*)", line):
        before = line[:m.start()].split()
        if before and before[-1].startswith("--"):
            continue
        args += re.split(r"\||&&|;", m.group(1))[0]
    return args


def mentioned_flags():
    """(flag, where) for daemon-style flags in the docs."""
    found = []
    for path in doc_files():
        for n, line in enumerate(text_of(path).splitlines(), 1):
            # Where the line runs the daemon: its arguments, up to the next
            # command of a pipeline or list.
            ours = daemon_args(line)
            for flag in re.findall(FLAG, line):
                if "." in flag or flag in re.findall(FLAG, ours):
                    found.append((flag, f"{os.path.relpath(path, ROOT)}:{n}"))
    return found


def check_flags(daemon):
    flags = daemon_flags(daemon)
    unknown = [(f, at) for f, at in mentioned_flags()
               if f not in flags and f not in FOREIGN_FLAGS]
    harness.check(not unknown, "every flag the docs name exists: " +
                  (", ".join(f"{f} ({at})" for f, at in unknown) or "yes"))
    man, conf = man_text(), read(CONFIG_DOC)
    undocumented = sorted(f for f in flags if f not in man or f not in conf)
    harness.check(not undocumented, "every flag is in the man page and configuration.md: " +
                  (", ".join(undocumented) or "yes"))


# --- config keys ----------------------------------------------------------------

def unknown_key(daemon, yaml_text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(yaml_text)
        f.flush()
        out = subprocess.run([daemon, f"--config.file={f.name}", "--config.check"],
                             capture_output=True, text=True)
    return "unknown or unsupported key" in out.stdout + out.stderr


def accepted_keys(daemon):
    """The daemon's keys, by probing it with each name its parser lists."""
    names = set()
    for block in re.findall(r"RequireMap\([^{]*\{([^}]*)\}", read(DAEMON_CONFIG_SRC)):
        names |= set(re.findall(r'"([a-z_]+)"', block))
    # grouping.by_*: one key per row of the key-label table.
    names |= set(re.findall(r'"([a-z_]+)"', read(KEY_LABELS_SRC)))
    harness.check("network_namespace" in names and "listen_address" in names,
                  f"the config parser's key names found ({len(names)})")
    keys = {n for n in names if n not in SECTIONS and not unknown_key(daemon, f"{n}: null\n")}
    for s in SECTIONS:
        keys |= {f"{s}.{n}" for n in names if not unknown_key(daemon, f"{s}:\n  {n}: null\n")}
    harness.check(not unknown_key(daemon, "web:\n  listen_address: ':1'\n") and
                  unknown_key(daemon, "web:\n  listen_adress: ':1'\n"),
                  "the probe tells a known key from a misspelt one")
    return keys


def check_config_keys(daemon):
    keys = accepted_keys(daemon)
    harness.log("config keys: " + ", ".join(sorted(keys)))
    pattern = re.compile(r"`((?:%s)\.[a-z_]+)`" % "|".join(SECTIONS))
    unknown = []
    for path in doc_files():
        for n, line in enumerate(text_of(path).splitlines(), 1):
            unknown += [f"{k} ({os.path.relpath(path, ROOT)}:{n})" for k in pattern.findall(line)
                        if k not in keys]
    harness.check(not unknown, "every config key the docs name exists: " +
                  (", ".join(unknown) or "yes"))
    conf = read(CONFIG_DOC)
    shipped = read(SHIPPED_CONFIG)
    missing = []
    for k in sorted(keys):
        leaf = k.split(".")[-1]
        if f"`{k}`" not in conf:
            missing.append(f"{k} (configuration.md)")
        if not re.search(rf"^\s*#?\s*{leaf}:", shipped, re.M):
            missing.append(f"{k} (config/netstacklat-exporter.yaml)")
    harness.check(not missing, "every config key is documented: " + (", ".join(missing) or "yes"))


# --- metrics --------------------------------------------------------------------

def source_metrics():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "daemon", "**", "*.cpp"), recursive=True):
        names |= set(re.findall(r'"((?:netstacklat_exporter|ebpf_exporter)_[a-z0-9_]+)"',
                                read(path)))
    return names


def histogram_names():
    """ebpf_exporter_<name> of each histogram in the shipped metrics config."""
    text = read(os.path.join(ROOT, "config", "netstacklat.yaml"))
    return {"ebpf_exporter_" + n for n in re.findall(r"^\s*- name: ([a-z0-9_]+)", text, re.M)}


def check_metrics():
    defined = source_metrics()
    harness.check(len(defined) >= 20, f"metric names found in the sources ({len(defined)})")
    known = defined | histogram_names()
    used = []
    files = doc_files() + glob.glob(os.path.join(ROOT, "packaging", "grafana", "*.json")) + \
        glob.glob(os.path.join(ROOT, "packaging", "prometheus", "*.yml"))
    for path in files:
        for name in set(re.findall(r"\b((?:netstacklat_exporter|ebpf_exporter)_[a-z0-9_]+)",
                                   text_of(path))):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name.endswith("_"):  # a name_* pattern: some metric must match it
                if name[:-1] in known or any(k.startswith(name) for k in known):
                    continue
            if name not in known and base not in known:
                used.append(f"{name} ({os.path.relpath(path, ROOT)})")
    harness.check(not used, "every metric the docs, dashboard and rules use exists: " +
                  (", ".join(sorted(used)) or "yes"))
    table = read(METRICS_DOC)
    missing = sorted(m for m in defined if f"`{m}`" not in table)
    harness.check(not missing, "every metric is in docs/metrics.md: " + (", ".join(missing) or "yes"))


# --- tests and links ------------------------------------------------------------

def check_tests(build_dir):
    out = subprocess.run(["ctest", "-N"], cwd=build_dir, capture_output=True, text=True).stdout
    names = re.findall(r"Test +#\d+: (\S+)", out)
    harness.check(len(names) >= 20, f"ctest lists the suite ({len(names)} entries)")
    described = set(re.findall(r"`([a-z0-9_*]+)`", read(os.path.join(ROOT, "tests", "README.md"))))
    missing = [n for n in names if not any(fnmatch.fnmatch(n, d) for d in described)]
    harness.check(not missing, f"tests/README.md describes all {len(names)} ctest entries: " +
                  (", ".join(missing) or "yes"))


def check_links():
    broken = []
    for path in [os.path.join(ROOT, "README.md")] + glob.glob(os.path.join(ROOT, "docs", "*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(path)):
            if re.match(r"[a-z]+:", target):
                continue
            if not os.path.exists(os.path.join(os.path.dirname(path), target)):
                broken.append(f"{target} ({os.path.relpath(path, ROOT)})")
    harness.check(not broken, "every relative link names a file: " + (", ".join(broken) or "yes"))


def run(args):
    check_flags(args.daemon)
    check_config_keys(args.daemon)
    check_metrics()
    check_tests(args.build_dir)
    check_links()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True)
    p.add_argument("--build-dir", required=True)
    return harness.run_reporting(run, p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
