#!/usr/bin/env bash
# Runs every test: installs missing system packages, builds, and runs the xunit projects against real
# PostgreSQL (an embedded test cluster, or TEST_DATABASE_URL), ffmpeg, OpenCV and TorchSharp.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Media").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test Concerto.Ingest.sln -c Release -nologo "$@" 2>&1 | tee "$log" || status=$?

# One closing line over all test assemblies.
awk '/(Passed|Failed)! +- +Failed:/ {
       for (i = 1; i <= NF; i++) { v = $(i + 1); gsub(/,/, "", v)
         if ($i == "Failed:") f += v; else if ($i == "Passed:") p += v; else if ($i == "Skipped:") s += v } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
