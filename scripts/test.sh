#!/usr/bin/env bash
# Runs every test: installs missing system packages, builds, and runs the xunit projects against real
# PostgreSQL (an embedded test cluster, or TEST_DATABASE_URL), ffmpeg, OpenCV and TorchSharp.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Media").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" --browser
cd "$root"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test Concerto.Ingest.sln -c Release -nologo "$@" 2>&1 | tee "$log" || status=$?

# One closing line over all test assemblies (from the minimal "Passed! - Failed: 0, Passed: 18, ..." summaries or the
# normal-verbosity "Passed: 18" blocks, whichever this run printed).
awk '/(Passed|Failed)! +- +Failed:/ {
       for (i = 1; i <= NF; i++) { v = $(i + 1); gsub(/,/, "", v)
         if ($i == "Failed:") f += v; else if ($i == "Passed:") p += v; else if ($i == "Skipped:") s += v } }
     /^ +(Passed|Failed|Skipped): +[0-9]+$/ {
       if ($1 == "Failed:") f += $2; else if ($1 == "Passed:") p += $2; else s += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
