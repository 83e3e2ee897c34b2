# Shared by bin/dev and bin/test: a virtualenv that matches pyproject.toml, and Redis.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Socket needs Python 3.11 (on Debian: apt-get install python3.11 python3.11-venv)" >&2
  return 1
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> Creating virtualenv in .venv"
    "$(find_python)" -m venv "$VENV"
  fi
  # Install exactly what the lock file pins (hashes checked), then Socket itself without resolving again.
  # Reinstall only when pyproject.toml or the lock changed since the last install.
  local stamp="$VENV/.installed-$(cat pyproject.toml requirements/dev.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "==> Installing Socket and its locked dependencies (requirements/dev.txt) into .venv"
    "$VENV/bin/pip" install --quiet --require-hashes -r requirements/dev.txt
    "$VENV/bin/pip" install --quiet --no-deps -e .
    rm -f "$VENV"/.installed-* && touch "$stamp"
  fi
}

redis_answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

ensure_redis() {
  local url="${1:-redis://127.0.0.1:6379/0}"
  redis_answers "$url" && return 0
  if command -v redis-server >/dev/null 2>&1; then
    echo "==> No Redis answered at $url: starting a local one on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis_answers "$url" && return 0; sleep 0.1; done
  fi
  echo "Socket needs Redis at $url and none answers. On Debian: apt-get install -y redis-server" >&2
  return 1
}
