#!/usr/bin/env bash
# Run Valkey's Tcl units against pyvalkey-server and compare with the oracle's baseline.
#   tools/tcl.sh unit/type/string,unit/expire [out-dir]
# Needs the suite extracted at .ref/valkey (see ../shared/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
units=${1:?units}
out=${2:-/tmp/tcl-$(echo "$units" | tr '/,' '__')}
exec ../shared/tools/tcl-compat --suite .ref/valkey --port "${TCL_PORT:-7301}" --units "$units" \
  --server-cmd "$(command -v pyvalkey-server) --port {port} --dir {dir} --save '' --appendonly no --enable-debug-command yes" \
  --tags=-slow \
  --baseline ../shared/reference/tcl-baseline-valkey-9.1.2/results.tsv --out "$out"
