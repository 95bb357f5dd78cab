#!/usr/bin/env bash
# Builds clover's test MongoDB wire server (FerretDB 1.24 on SQLite, see README.md) into
# tools/ferretdb/.bin/clover-ferretdb. Does nothing when the binary is newer than its sources.
# Needs Go >= 1.24 and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
bin=.bin/clover-ferretdb
if [ -x "$bin" ] && [ -z "$(find main.go go.mod go.sum -newer "$bin" 2>/dev/null)" ]; then
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "tools/ferretdb: Go is not installed (needs Go >= 1.24)" >&2; exit 1; }
mkdir -p .bin
# Build beside the target and rename: two builds at once never leave a half-written binary.
tmp="$(mktemp .bin/clover-ferretdb.XXXXXX)"
trap 'rm -f "$tmp"' EXIT
go build -trimpath -o "$tmp" .
mv -f "$tmp" "$bin"
