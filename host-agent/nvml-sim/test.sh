#!/usr/bin/env bash
# Build the simulated NVML and run its C tests: test.sh OUTDIR
set -euo pipefail
out="${1:?usage: test.sh OUTDIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/build.sh" "$out"
lib="$(cd "$out" && pwd)/libnvidia-ml-sim.so"
# The test binary does not link libnvidia-ml: it dlopen()s the sim like JNA.
gcc -Wall -Wextra -Werror -std=c11 -I/usr/include -o "$out/sim_test" "$here/sim_test.c" -ldl -lpthread
echo "exported:"
nm -D --defined-only "$lib" | awk '{print "  " $3}'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$out/sim_test" "$lib" "$work"
