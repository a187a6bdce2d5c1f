#!/usr/bin/env bash
# Fault injection against the real programs (see docs/reliability.md).
#   bash dev/chaos.sh                 every scenario, with the short soak CI runs (100 s, a fault every 20 s)
#   bash dev/chaos.sh 30m [1m [SEED]] the soak only: 30 minutes, one random fault a minute
# Prints each scenario's figures; the soak's summary is also left in faults/target/faults/soak.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/services.sh >/dev/null

seconds() { # 30m -> 1800
  [[ "$1" =~ ^([0-9]+)([smh])$ ]] || { echo "a duration is a number and s, m or h: '$1'" >&2; exit 2; }
  case "${BASH_REMATCH[2]}" in s) echo "${BASH_REMATCH[1]}" ;; m) echo $((BASH_REMATCH[1] * 60)) ;; h) echo $((BASH_REMATCH[1] * 3600)) ;; esac
}

if [ $# -eq 0 ]; then
  exec mvn -B -ntp -pl faults -am verify
fi
total=$(seconds "$1")
# The soak's class may run its whole length, plus the fleet's start and the final checks.
args=(-Dtest=SoakIT -Dfaults.soak.duration="PT${total}S" -Dfaults.soak.every="PT$(seconds "${2:-1m}")S"
      -Dgpufleet.test.classTimeLimit="PT$((total + 900))S")
[ $# -ge 3 ] && args+=(-Dfaults.soak.seed="$3")
mvn -B -ntp -q -pl faults -am install -DskipTests
# The programs run from copies: a build during a long soak must not change them under a restart.
jars=$(mktemp -d /tmp/gpufleet-chaos.XXXXXX)
trap 'rm -rf "$jars"' EXIT
cp control-api/target/*-all.jar host-agent/target/*-all.jar tenant-agent/target/*-all.jar \
   host-agent/target/nvml-sim/libnvidia-ml-sim.so "$jars"/
mvn -B -ntp -pl faults verify "${args[@]}" -Dfaults.jars="$jars" -Dsurefire.failIfNoSpecifiedTests=false
