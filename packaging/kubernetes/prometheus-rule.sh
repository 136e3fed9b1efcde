#!/bin/sh
# Prints the shipped recording rules and alerts
# (packaging/prometheus/netstacklat-rules.yml) as a Prometheus Operator
# PrometheusRule, for: prometheus-rule.sh | kubectl apply -f -
# Generated rather than copied, so the two never drift apart. Add the label
# your Prometheus resource's ruleSelector asks for with -l KEY=VALUE.
set -eu
rules="$(dirname "$0")/../prometheus/netstacklat-rules.yml"
label=""
if [ "${1:-}" = "-l" ] && [ -n "${2:-}" ]; then
  case "$2" in
    *=*) ;;
    *) echo "$0: -l wants KEY=VALUE" >&2; exit 2 ;;
  esac
  case "$2" in
    *'"'* | *'\'*) echo "$0: quotes and backslashes are not label values here" >&2; exit 2 ;;
  esac
  label="    ${2%%=*}: \"${2#*=}\""
elif [ $# -gt 0 ]; then
  echo "usage: $0 [-l KEY=VALUE]" >&2
  exit 2
fi
cat <<HEAD
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: netstacklat-exporter
  namespace: netstacklat
  labels:
    app.kubernetes.io/name: netstacklat-exporter
HEAD
[ -z "$label" ] || printf '%s\n' "$label"
echo "spec:"
# The rules file's comments are dropped, its mapping indented under spec.
grep -v '^ *#' "$rules" | sed 's/^/  /'
