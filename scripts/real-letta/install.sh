#!/usr/bin/env bash
# Install the real Letta server (letta==0.16.8, the last Python server release on PyPI), the
# SDK, and Postgres+pgvector (the pgserver wheel) into a venv of its own, outside the
# project's .venv. Redis (for background runs and stream resume) comes from apt when missing.
# A stamp file makes a second run a no-op. See common.sh for the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="$HERE/constraints-letta-0.16.8.txt"
REQS=("letta[server,redis]==${LETTA_VERSION}" "letta-client==${LETTA_CLIENT_VERSION}" asyncpg pgvector "pgserver==0.1.4")

# Redis from Debian: optional (without it the background/resume tests skip, saying why).
if ! command -v redis-server >/dev/null && [[ "${REAL_LETTA_REDIS:-1}" != "0" ]] && command -v apt-get >/dev/null; then
  SUDO=""; [[ "$(id -u)" == "0" ]] || SUDO="sudo -n"
  if ! { $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1 \
         || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1; }; }; then
    echo "real-letta: could not apt-get install redis-server; background runs will answer 503" >&2
  fi
fi

STAMP_CONTENT="$(printf '%s\n' "${REQS[@]}"; sha256sum "$CONSTRAINTS" | cut -d' ' -f1)"
STAMP="$VENV/.real-letta-installed"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_CONTENT" && -x "$VENV/bin/letta" ]]; then
  echo "real-letta: already installed in $VENV"
  exit 0
fi

start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
# pip 23.x crashes resolving letta's tree ("Candidate is not for this requirement
# lxml[html-clean,html-clean]"): upgrade pip inside the venv first.
"$VENV/bin/python" -m pip install -q -U pip 2>&1 | grep -v 'is ignored' || true
# Unpinned, today's releases break the import (pydantic 2.14 + mcp); pin letta 0.16.8's uv.lock.
"$VENV/bin/python" -m pip install -q -c "$CONSTRAINTS" "${REQS[@]}" 2>&1 | grep -v 'is ignored' | tail -n 3 || true
"$VENV/bin/python" -m pip check >/dev/null
"$VENV/bin/python" -c 'import letta, letta_client, pgserver, asyncpg' 
printf '%s' "$STAMP_CONTENT" > "$STAMP"
echo "real-letta: installed letta==$LETTA_VERSION in $VENV in $(( $(date +%s) - start ))s"
