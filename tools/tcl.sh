#!/usr/bin/env bash
# Run Valkey's Tcl units against this checkout's pyvalkey and compare with the oracle's baseline.
#   tools/tcl.sh unit/type/string,unit/expire [out-dir]
# Needs the suite extracted at .ref/valkey (see ../shared/README.md). TCL_PORT picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
units=${1:?units}
out=${2:-/tmp/tcl-$(echo "$units" | tr '/,' '__')}
root=$(pwd)
exec ../shared/tools/tcl-compat --suite .ref/valkey --port "${TCL_PORT:-7301}" --units "$units" \
  --server-cmd "env PYTHONPATH=$root $(command -v python3) -m pyvalkey --port {port} --dir {dir} --save '' --appendonly no --enable-debug-command yes" \
  --tags=-slow \
  --baseline ../shared/reference/tcl-baseline-valkey-9.1.2/results.tsv --out "$out"
