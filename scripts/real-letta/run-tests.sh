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
export LETTA_PROFILE=letta-0.16  # what the tests expect of this server (tests/conftest.py)

cd "$REPO"
status=0
# shellcheck disable=SC2086
"$PYTHON_TESTS" -m pytest tests/contract -q -rs -p no:cacheprovider ${PYTEST_ARGS:-} || status=$?
# the toolkit's integration tests that make sense against a real server
# (only the files that mention the marker are collected: collecting every tier costs ~20 s)
rc=0
mapfile -t REAL_FILES < <(grep -rlE 'mark\.real_server|"real_server"' tests --include='test_*.py' | grep -v '^tests/contract/' | sort)
if (( ${#REAL_FILES[@]} )); then
  # shellcheck disable=SC2086
  "$PYTHON_TESTS" -m pytest "${REAL_FILES[@]}" -q -rs -m real_server -p no:cacheprovider ${PYTEST_ARGS:-} || rc=$?
  [[ "$rc" == "5" ]] && rc=0
else
  echo "(no tests marked real_server outside tests/contract)"
fi
[[ "$status" == "0" ]] && status=$rc
echo "real-server tier: $(( $(date +%s) - t0 ))s, exit $status (letta log: $RUN/letta.log)"
exit "$status"
