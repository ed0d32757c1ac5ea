#!/usr/bin/env bash
# What the browser and static tiers need beyond .venv, installed once and cached:
#   1. Debian's chromium (/usr/bin/chromium), with apt-get only when it is missing;
#   2. the JS a static HTML export needs to render widget state without a CDN
#      (@jupyter-widgets/html-manager's embed-amd.js and require.js, by `npm pack`),
#      into VENV/share/letta-widgets-static-embed/, under a stamp;
#   3. axe-core's axe.min.js (the accessibility checks of the browser tier), by `npm pack`,
#      into VENV/share/letta-widgets-axe/, under a stamp.
# Never runs `playwright install` (it downloads its own browser build; Debian's is used).
#
#   bash scripts/install-browser-deps.sh [VENV]     (default .venv)
set -euo pipefail

VENV="${1:-.venv}"
HTML_MANAGER="@jupyter-widgets/html-manager@1.0.15"
REQUIREJS="requirejs@2.3.8"
DEST="$VENV/share/letta-widgets-static-embed"
STAMP="$DEST/.stamp"
WANT="$HTML_MANAGER $REQUIREJS"
export DEBIAN_FRONTEND=noninteractive

log() { echo "[browser-deps] $*"; }

# 1. chromium
if [ -x /usr/bin/chromium ] && dpkg -s chromium >/dev/null 2>&1; then
  log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
else
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt-get install chromium"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation
fi

# 2. static-embed JS
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
   && [ -f "$DEST/embed-amd.js" ] && [ -f "$DEST/require.js" ]; then
  log "static-embed JS present in $DEST"
else
  command -v npm >/dev/null 2>&1 || { echo "[browser-deps] npm not found (apt-get install npm)" >&2; exit 1; }
  log "npm pack $WANT -> $DEST"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$HTML_MANAGER" "$REQUIREJS" >/dev/null)
  mkdir -p "$DEST"
  tar -xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp" package/dist/embed-amd.js
  mv "$tmp/package/dist/embed-amd.js" "$DEST/embed-amd.js"
  rm -rf "$tmp/package"
  tar -xzf "$tmp"/requirejs-*.tgz -C "$tmp" package/require.js
  mv "$tmp/package/require.js" "$DEST/require.js"
  echo "$WANT" > "$STAMP"
fi
# 3. axe-core
AXE="axe-core@4.10.3"
AXE_DEST="$VENV/share/letta-widgets-axe"
if [ -f "$AXE_DEST/.stamp" ] && [ "$(cat "$AXE_DEST/.stamp")" = "$AXE" ] && [ -f "$AXE_DEST/axe.min.js" ]; then
  log "axe-core present in $AXE_DEST"
else
  command -v npm >/dev/null 2>&1 || { echo "[browser-deps] npm not found (apt-get install npm)" >&2; exit 1; }
  log "npm pack $AXE -> $AXE_DEST"
  axe_tmp="$(mktemp -d)"
  (cd "$axe_tmp" && npm pack --silent "$AXE" >/dev/null)
  mkdir -p "$AXE_DEST"
  tar -xzf "$axe_tmp"/axe-core-*.tgz -C "$axe_tmp" package/axe.min.js
  mv "$axe_tmp/package/axe.min.js" "$AXE_DEST/axe.min.js"
  rm -rf "$axe_tmp"
  echo "$AXE" > "$AXE_DEST/.stamp"
fi
log "done"
