# Shell helpers of the package tests (sourced).

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_for_metrics URL [CURL_ARGS...]: prints the first complete scrape (one
# that carries the hooks' status), or fails after 30 s. Ready is a complete
# scrape, not the first answer: the daemon answers 503 while it attaches.
wait_for_metrics() {
  local url=$1 body; shift
  for _ in $(seq 150); do
    # Into a variable first: with pipefail, grep -q closing the pipe early
    # would fail curl (SIGPIPE) and so the check.
    body=$(curl -sf "$@" "$url" 2>/dev/null) || body=""
    if grep -q 'hook_attached{hook="tcp-start"' <<<"$body"; then
      printf '%s\n' "$body"
      return 0
    fi
    sleep 0.2
  done
  return 1
}
