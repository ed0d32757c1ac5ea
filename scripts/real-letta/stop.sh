#!/usr/bin/env bash
# Stop what start.sh started for this instance: exactly the PIDs in $STATE/run/*.pid.
#   REAL_LETTA_WIPE=1 also deletes the instance's state (database, logs).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stop_pid() {  # name pidfile
  local f="$RUN/$2" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    # letta waits for open streams on SIGTERM: give it 15 s, then SIGKILL
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    echo "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

stop_pid letta letta.pid
stop_pid stub-llm stub.pid
stop_pid redis redis.pid
if [[ -f "$RUN/postgres.pid" ]]; then
  pid="$(cat "$RUN/postgres.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    PGBIN="$(cat "$RUN/pgbin" 2>/dev/null || true)"
    AS=()
    if [[ "$(id -u)" == "0" ]]; then AS=(runuser -u "$(stat -c %U "$STATE/pg/data")" --); fi
    if [[ -n "$PGBIN" && -x "$PGBIN/pg_ctl" ]]; then
      # pg_ctl signals the postmaster PID from its own postmaster.pid: the one we started
      "${AS[@]}" "$PGBIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || kill -INT "$pid"
    else
      kill -INT "$pid"
    fi
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped postgres (pid $pid)"
  fi
  rm -f "$RUN/postgres.pid"
fi
if [[ "${REAL_LETTA_WIPE:-0}" == "1" ]]; then rm -rf "$STATE"; echo "wiped $STATE"; fi
exit 0
