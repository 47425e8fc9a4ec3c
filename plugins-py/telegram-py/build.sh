#!/usr/bin/env bash
# Builds the Telegram Python example into a Switchboard channel component.
# Usage: ./build.sh [OUT]   (default: telegram_py.wasm beside this script)
# COMPONENTIZE_PY names the componentize-py to run (default: `componentize-py` on PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/telegram_py.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
componentize_py="${COMPONENTIZE_PY:-componentize-py}"

cd "$here"
mkdir -p "$(dirname "$out")"
# The contract's world `plugin-http`: the world `plugin` plus wasi:http/outgoing-handler, which
# is how the plugin calls the Bot API. The WASI WIT it names is in wit/v0.1.4/deps.
"$componentize_py" -d ../../wit/v0.1.4 -w plugin-http componentize app -o "$out"
echo "built $out ($(wc -c < "$out") bytes)"
