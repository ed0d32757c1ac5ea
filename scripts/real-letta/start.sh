#!/usr/bin/env bash
# Start the real Letta server offline, on loopback only, with the project's stub LLM
# (tests/real/stub_llm.py): Postgres+pgvector (pgserver wheel), the stub, Redis (when
# installed) and `letta server`. Waits until Letta is healthy, then prints LETTA_BASE_URL,
# LETTA_MODEL and LETTA_EMBEDDING (also written to $STATE/run/env.sh).
#
#   REAL_LETTA_PORT / _PG_PORT / _STUB_PORT / _REDIS_PORT   ports (default: free ones; the
#                        "server" instance prefers 8283 for Letta when it is free)
#   REAL_LETTA_FRESH=1   start from an empty database (wipes this instance's state dir)
#   REAL_LETTA_REDIS=0   don't start Redis (background runs / resume then answer 503)
#   STUB_SLOW_DELAY      seconds per token of the stub's "slow" answers (default 0.2)
#   REAL_LETTA_EXTRA_ENV extra KEY=VALUE words for the letta process
# Everything it starts is recorded in $STATE/run/*.pid; stop.sh stops exactly those PIDs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# install on first use (a no-op afterwards: install.sh keeps a stamp)
[[ -x "$VENV/bin/letta" ]] || "$HERE/install.sh"
if [[ "${REAL_LETTA_FRESH:-0}" == "1" ]]; then
  "$HERE/stop.sh" >/dev/null 2>&1 || true
  rm -rf "$STATE"
fi
mkdir -p "$RUN" "$STATE/home" "$STATE/pg"
t_all=$(date +%s.%N)

pick_port() {  # name env-value pidfile [preferred]
  local val="$2"
  if [[ -n "$val" ]]; then echo "$val"; return; fi
  if [[ -f "$RUN/$1.port" ]]; then
    # Running: reuse it. Stopped: reuse the port if it is free, because a kept database
    # remembers the stub LLM's URL (its provider base URL) from the previous start.
    local old; old="$(cat "$RUN/$1.port")"
    if alive "$RUN/$3" || ! port_busy "$old"; then echo "$old"; return; fi
  fi
  if [[ -n "${4:-}" ]] && ! port_busy "$4"; then echo "$4"; return; fi
  free_port
}
LETTA_PORT="$(pick_port letta "${REAL_LETTA_PORT:-}" letta.pid "$([[ "$INSTANCE" == server ]] && echo 8283)")"
PG_PORT="$(pick_port pg "${REAL_LETTA_PG_PORT:-}" postgres.pid)"
STUB_PORT="$(pick_port stub "${REAL_LETTA_STUB_PORT:-}" stub.pid)"
REDIS_PORT="$(pick_port redis "${REAL_LETTA_REDIS_PORT:-}" redis.pid)"

# ---------- Postgres 16 + pgvector (binaries from the pgserver wheel) ----------
PGBIN="$(pgserver_bin)"
AS=()
if [[ "$(id -u)" == "0" ]]; then
  # Postgres refuses to run as root: run it as `nobody`, who must reach binaries and data.
  PG_OS_USER="${REAL_LETTA_PG_OS_USER:-nobody}"
  AS=(runuser -u "$PG_OS_USER" --)
  if ! "${AS[@]}" test -x "$PGBIN/postgres"; then
    # the venv is under root's home, which `nobody` cannot enter: use a copy of the wheel's
    # Postgres (34 MB), laid out as in site-packages (the binaries' RPATH is
    # $ORIGIN/../../../pgserver.libs)
    COPY="$RUNTIME/pgserver-copy"
    if [[ ! -x "$COPY/pgserver/pginstall/bin/postgres" ]]; then
      SITE="$(dirname "$(dirname "$(dirname "$PGBIN")")")"
      rm -rf "$COPY.tmp"; mkdir -p "$COPY.tmp/pgserver"
      cp -a "$SITE/pgserver/pginstall" "$COPY.tmp/pgserver/" && cp -a "$SITE/pgserver.libs" "$COPY.tmp/"
      rm -rf "$COPY"; mv "$COPY.tmp" "$COPY"
    fi
    PGBIN="$COPY/pgserver/pginstall/bin"
  fi
  chmod 755 "$RUNTIME" "$STATE" 2>/dev/null || true
  chown "$PG_OS_USER" "$STATE/pg"
fi
chmod 700 "$STATE/pg"
t0=$(date +%s.%N)
NEW_DB=0
if [[ ! -f "$STATE/pg/data/PG_VERSION" ]]; then
  "${AS[@]}" "$PGBIN/initdb" -D "$STATE/pg/data" -U letta --auth=trust --encoding=UTF8 --no-locale >"$RUN/initdb.log" 2>&1 \
    || { echo "initdb failed:" >&2; tail -5 "$RUN/initdb.log" >&2; exit 1; }
  NEW_DB=1
fi
if ! alive "$RUN/postgres.pid"; then
  port_busy "$PG_PORT" && { echo "port $PG_PORT busy (set REAL_LETTA_PG_PORT)" >&2; exit 1; }
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/postgres.log" -w -t 60 \
    -o "-c listen_addresses=$HOST -p $PG_PORT -k $STATE/pg" start >"$RUN/pg_ctl.log" 2>&1 \
    || { echo "postgres did not start:" >&2; tail -5 "$STATE/pg/postgres.log" >&2; exit 1; }
  head -1 "$STATE/pg/data/postmaster.pid" >"$RUN/postgres.pid"
  echo "$PG_PORT" >"$RUN/pg.port"
  echo "$PGBIN" >"$RUN/pgbin"
fi
export LETTA_PG_URI="postgresql://letta@$HOST:$PG_PORT/letta?sslmode=disable"
if [[ "$NEW_DB" == "1" ]] || ! "$PGBIN/psql" -h "$HOST" -p "$PG_PORT" -U letta -d letta -Atc 'select 1' >/dev/null 2>&1; then
  "$PGBIN/psql" -h "$HOST" -p "$PG_PORT" -U letta -d postgres -qc 'CREATE DATABASE letta' >/dev/null 2>&1 || true
  # the wheel ships no alembic migrations: build the schema from letta's ORM metadata
  HOME="$STATE/home" "$PY" "$HERE/init_db.py" 2>&1 | grep -v RuntimeDirWarning | tail -1
fi
echo "postgres ready ($(since "$t0")s) on $HOST:$PG_PORT"

# ---------- the project's stub LLM ----------
if ! alive "$RUN/stub.pid"; then
  port_busy "$STUB_PORT" && { echo "port $STUB_PORT busy (set REAL_LETTA_STUB_PORT)" >&2; exit 1; }
  PYTHONPATH="$REPO/devserver${PYTHONPATH:+:$PYTHONPATH}" STUB_MODEL="$STUB_MODEL" STUB_LOG="$RUN/stub_requests.jsonl" STUB_SLOW_DELAY="${STUB_SLOW_DELAY:-0.2}" \
    nohup "$PY" "$STUB" --host "$HOST" --port "$STUB_PORT" >"$RUN/stub.log" 2>&1 &
  echo $! >"$RUN/stub.pid"
  echo "$STUB_PORT" >"$RUN/stub.port"
  for _ in $(seq 50); do port_busy "$STUB_PORT" && break; sleep 0.1; done
fi

# ---------- Redis (optional; Debian's redis-server) ----------
REDIS_ENV=()
if [[ "${REAL_LETTA_REDIS:-1}" != "0" ]] && command -v redis-server >/dev/null; then
  if ! alive "$RUN/redis.pid"; then
    port_busy "$REDIS_PORT" && { echo "port $REDIS_PORT busy (set REAL_LETTA_REDIS_PORT)" >&2; exit 1; }
    mkdir -p "$STATE/redis"
    nohup redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir "$STATE/redis" --daemonize no >"$RUN/redis.log" 2>&1 &
    echo $! >"$RUN/redis.pid"
    echo "$REDIS_PORT" >"$RUN/redis.port"
    for _ in $(seq 50); do port_busy "$REDIS_PORT" && break; sleep 0.1; done
  fi
  REDIS_ENV=(LETTA_REDIS_HOST=127.0.0.1 LETTA_REDIS_PORT="$(cat "$RUN/redis.port")")
else
  echo "redis: not started (background runs / stream resume will answer 503)"
fi

# ---------- Letta ----------
if ! alive "$RUN/letta.pid"; then
  port_busy "$LETTA_PORT" && { echo "port $LETTA_PORT busy (set REAL_LETTA_PORT)" >&2; exit 1; }
  t1=$(date +%s.%N)
  # env -i: nothing inherited (no real provider keys). OPENAI_* point letta's OpenAI provider
  # at the stub (handle openai-proxy/<STUB_MODEL>). Outbound HTTP goes to a dead loopback
  # proxy (the one attempt is nltk's punkt download at start-up, which letta tolerates).
  # LETTA_DISABLE_SQLALCHEMY_POOLING=false: letta's default NullPool stalls ~1 step in 5 for 60 s.
  DEAD_PROXY="http://127.0.0.1:9"
  (cd "$RUN"; env -i \
      PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 HOME="$STATE/home" \
      LETTA_PG_URI="$LETTA_PG_URI" \
      OPENAI_API_KEY=sk-stub-not-a-real-key OPENAI_BASE_URL="http://$HOST:$STUB_PORT/v1" \
      LETTA_DISABLE_TRACING=true LETTA_TELEMETRY_ENABLE_DATADOG=false \
      DD_TRACE_ENABLED=false DD_INSTRUMENTATION_TELEMETRY_ENABLED=false DD_REMOTE_CONFIGURATION_ENABLED=false \
      NLTK_DATA="$STATE/nltk_data" TIKTOKEN_CACHE_DIR="$STATE/tiktoken" HF_HUB_OFFLINE=1 \
      HTTP_PROXY="$DEAD_PROXY" HTTPS_PROXY="$DEAD_PROXY" ALL_PROXY="$DEAD_PROXY" \
      http_proxy="$DEAD_PROXY" https_proxy="$DEAD_PROXY" all_proxy="$DEAD_PROXY" \
      NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1" \
      LETTA_DISABLE_SQLALCHEMY_POOLING=false \
      "${REDIS_ENV[@]}" ${REAL_LETTA_EXTRA_ENV:-} \
      nohup "$VENV/bin/letta" server --host "$HOST" --port "$LETTA_PORT" >"$RUN/letta.log" 2>&1 &
   echo $! >"$RUN/letta.pid")
  echo "$LETTA_PORT" >"$RUN/letta.port"
  ok=0
  for _ in $(seq 600); do
    if http_get "http://$HOST:$LETTA_PORT/v1/health/" 2 >/dev/null; then ok=1; break; fi
    alive "$RUN/letta.pid" || break
    sleep 0.2
  done
  if [[ "$ok" != "1" ]]; then
    echo "letta did not become healthy; last log lines:" >&2; tail -n 30 "$RUN/letta.log" >&2; exit 1
  fi
  echo "letta healthy after $(since "$t1")s"
fi
LETTA_PORT="$(cat "$RUN/letta.port")"

BASE_URL="http://$HOST:$LETTA_PORT"
MODEL="$(http_get "$BASE_URL/v1/models/" | "$PY" -c 'import json,sys; m=[x["handle"] for x in json.load(sys.stdin) if x.get("model")==sys.argv[1]]; print(m[0] if m else "")' "$STUB_MODEL")"
EMB="$(http_get "$BASE_URL/v1/models/embedding" | "$PY" -c 'import json,sys; h=[x["handle"] for x in json.load(sys.stdin)]; m=[x for x in h if x=="openai/text-embedding-3-small"] or [x for x in h if x.startswith("openai/")]; print(m[0] if m else "")')"
cat >"$RUN/env.sh" <<ENV
export LETTA_BASE_URL=$BASE_URL
export LETTA_MODEL=$MODEL
export LETTA_EMBEDDING=$EMB
ENV
echo "real Letta server (letta $LETTA_VERSION) ready in $(since "$t_all")s; state $STATE"
echo "LETTA_BASE_URL=$BASE_URL"
echo "LETTA_MODEL=$MODEL"
echo "LETTA_EMBEDDING=$EMB"
if [[ "$INSTANCE" == server ]]; then
  echo "(source $RUN/env.sh to use it; stop it with scripts/real-letta/stop.sh or make real-server-stop)"
fi
