#!/usr/bin/env bash
# Builds the Telegram JavaScript example into a Switchboard channel component.
# Usage: ./build.sh [OUT]   (default: dist/telegram-js.wasm)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-dist/telegram-js.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
wit="$here/../../wit/v0.1.3"

cd "$here"
if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund
fi
mkdir -p "$(dirname "$out")"

# The contract's world `plugin`. Features the channel does not use are left out, so the
# component imports less: `stdio` (console), `random` (Math.random, crypto), `clocks` (timers)
# and `fetch-event` (serving HTTP). `http` stays: `fetch` is how the plugin calls the Bot API.
npx --no-install componentize-js src/plugin.js \
    --wit "$wit" --world-name plugin \
    --disable stdio random clocks fetch-event \
    -o "$out"
echo "built $out ($(wc -c < "$out") bytes)"
