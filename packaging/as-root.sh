#!/bin/sh
# Runs its arguments as root: directly when root already (a bare Debian
# server has no sudo), through sudo otherwise. The README's commands use it
# so that they work as written for both.
if [ "$(id -u)" -eq 0 ]; then
  exec "$@"
fi
if ! command -v sudo >/dev/null 2>&1; then
  echo "as-root.sh: '$*' needs root, and sudo is not installed: run it as root" >&2
  exit 1
fi
exec sudo -- "$@"
