# Shared settings for scripts/real-letta/*.sh (sourced, not run).
#
#   REAL_LETTA_HOME     install root (default ${XDG_CACHE_HOME:-$HOME/.cache}/letta-widgets/real-letta)
#   REAL_LETTA_VENV     the real server's own venv (default $REAL_LETTA_HOME/venv; never the project's .venv)
#   REAL_LETTA_RUNTIME  databases, logs, pid files (default ${TMPDIR:-/tmp}/letta-widgets-real-letta-$UID:
#                       when we run as root, Postgres runs as `nobody` and must reach its files)
#   REAL_LETTA_INSTANCE "server" (make real-server) or "test" (run-tests.sh); one state dir each
#   REAL_LETTA_STATE    state dir of this instance (default $REAL_LETTA_RUNTIME/$REAL_LETTA_INSTANCE)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
REAL_LETTA_HOME="${REAL_LETTA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/letta-widgets/real-letta}"
VENV="${REAL_LETTA_VENV:-$REAL_LETTA_HOME/venv}"
RUNTIME="${REAL_LETTA_RUNTIME:-${TMPDIR:-/tmp}/letta-widgets-real-letta-$(id -u)}"
INSTANCE="${REAL_LETTA_INSTANCE:-server}"
STATE="${REAL_LETTA_STATE:-$RUNTIME/$INSTANCE}"
RUN="$STATE/run"
HOST=127.0.0.1
LETTA_VERSION="${LETTA_VERSION:-0.16.8}"
LETTA_CLIENT_VERSION="${LETTA_CLIENT_VERSION:-1.12.1}"
STUB="$REPO/tests/real/stub_llm.py"
STUB_MODEL="${STUB_MODEL:-stub-model}"
PY="$VENV/bin/python"

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pgserver_bin() {
  "$PY" -c 'import importlib.util,os;s=importlib.util.find_spec("pgserver");print(os.path.join(list(s.submodule_search_locations)[0],"pginstall","bin"))'
}
# no curl/bc needed (a fresh Debian may lack them): python3 does both
since() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.1f}")' "$1"; }
http_get() {  # URL [timeout]: body on stdout, non-zero exit on failure
  python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' "$1" "${2:-10}" 2>/dev/null
}
