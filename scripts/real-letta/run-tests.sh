#!/usr/bin/env bash
# The real-server test tier: install the real Letta server (no-op when done), start a fresh
# one on free loopback ports with the project's stub LLM, run tests/contract/ against it
# (LETTA_BASE_URL), then the toolkit's tests marked `real_server`, and stop everything it
# started by PID, whatever happens.
#
#   PYTHON_TESTS   interpreter with the project and its dev extras (default $REPO/.venv/bin/python)
#   PYTEST_ARGS    extra pytest arguments (e.g. "-x -k paging")
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export REAL_LETTA_INSTANCE=test
STATE="${REAL_LETTA_STATE:-$RUNTIME/test}"
RUN="$STATE/run"
PYTHON_TESTS="${PYTHON_TESTS:-$REPO/.venv/bin/python}"
t0=$(date +%s)

"$HERE/install.sh"
cleanup() { REAL_LETTA_INSTANCE=test "$HERE/stop.sh" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
REAL_LETTA_INSTANCE=test REAL_LETTA_FRESH=1 "$HERE/start.sh"
# shellcheck disable=SC1091
source "$RUN/env.sh"
export LETTA_BASE_URL LETTA_MODEL LETTA_EMBEDDING

cd "$REPO"
status=0
# shellcheck disable=SC2086
"$PYTHON_TESTS" -m pytest tests/contract -q -rs -p no:cacheprovider ${PYTEST_ARGS:-} || status=$?
# the toolkit's integration tests that make sense against a real server
rc=0
# shellcheck disable=SC2086
"$PYTHON_TESTS" -m pytest tests -q -rs -m real_server --ignore=tests/contract -p no:cacheprovider ${PYTEST_ARGS:-} || rc=$?
[[ "$rc" == "5" ]] && { echo "(no tests marked real_server outside tests/contract)"; rc=0; }
[[ "$status" == "0" ]] && status=$rc
echo "real-server tier: $(( $(date +%s) - t0 ))s, exit $status (letta log: $RUN/letta.log)"
exit "$status"
