#!/usr/bin/env bash
# Build the simulated NVML library: build.sh OUTDIR
# Produces OUTDIR/libnvidia-ml-sim.so (soname libnvidia-ml.so.1) and a
# libnvidia-ml.so.1 symlink, so it can stand in for the real library.
set -euo pipefail
out="${1:?usage: build.sh OUTDIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f /usr/include/nvml.h ]; then
  echo "build.sh: /usr/include/nvml.h is missing (libnvidia-ml-dev); run dev/services.sh nvml" >&2
  exit 1
fi
mkdir -p "$out"
gcc -shared -fPIC -Wall -Wextra -Werror -std=c11 -O2 -fvisibility=hidden \
  -I/usr/include -Wl,-soname,libnvidia-ml.so.1 \
  -o "$out/libnvidia-ml-sim.so" "$here/nvml_sim.c" "$here/sim_events.c" "$here/sim_config.c" -lpthread
ln -sf libnvidia-ml-sim.so "$out/libnvidia-ml.so.1"
echo "built $out/libnvidia-ml-sim.so"
