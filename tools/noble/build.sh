#!/bin/sh
# Rebuild src/samizdat/web/static/noble.js from the versions package-lock.json pins.
set -e
cd "$(dirname "$0")"
npm ci --silent
out=../../src/samizdat/web/static/noble.js
{
  echo "/*! noble.js: @noble/curves $(node -p "JSON.parse(require(\"fs\").readFileSync(\"node_modules/@noble/curves/package.json\")).version") (ed25519) and @noble/hashes $(node -p "JSON.parse(require(\"fs\").readFileSync(\"node_modules/@noble/hashes/package.json\")).version") (sha256),"
  echo "    bundled by tools/noble/build.sh (esbuild, IIFE) for static/verify.js."
  sed 's/^/    /' node_modules/@noble/curves/LICENSE
  echo "*/"
  npx esbuild entry.js --bundle --minify --format=iife --log-level=warning
} > "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
