#!/usr/bin/env bash
# Builds FerretDB (the MongoDB wire-protocol server the tests run against) once and
# caches the binary. `go install …@v1.24.2` cannot be used: it asks the module proxy for
# the version list, which is refused, and the released module lacks the version file its
# binary needs at start. So the exact version is downloaded, the version file written,
# and the binary built from FerretDB's own module (its go.sum pins every dependency).
set -euo pipefail
version=v1.24.2
bin_dir="${TWOFOLD_CACHE:-$HOME/.cache/twofold}/bin"
bin="$bin_dir/ferretdb"
stamp="$bin_dir/ferretdb.version"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  echo "ferretdb $version: cached at $bin"
  exit 0
fi
mkdir -p "$bin_dir"
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "ferretdb: Go is needed to build it (https://go.dev/dl or apt-get install golang)" >&2; exit 1; }
src_cache=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d "$src_cache" ]] || { echo "ferretdb: module download failed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src_cache/." "$work/"
chmod -R u+w "$work"
echo "$version" > "$work/build/version/version.txt"
(cd "$work" && go build -o "$bin" ./cmd/ferretdb)
echo "$version" > "$stamp"
echo "ferretdb $version: built at $bin"
