#!/usr/bin/env bash
# Runs a benchmark and prints its figures beside a baseline measured in the same run.
#   bash dev/bench.sh inventory [--hosts=10000 --gpus=8 --seconds=20]
#   bash dev/bench.sh heartbeats [--hosts=100000 --gpus=8 --seconds=20 --interval=10 --connections=64]
#   bash dev/bench.sh host-agent [SIM_LIBRARY [SECONDS]]
#   bash dev/bench.sh placement [HOSTS [SECONDS [SIM_LIBRARY [placement-only]]]]
#   bash dev/bench.sh pod-start [PODS [SIM_LIBRARY]]
#   bash dev/bench.sh edge [SECONDS [CONNECTIONS]]
#   bash dev/bench.sh burst [HOSTS [PODS]]
#   bash dev/bench.sh fleet [--hosts=50000 --gpus=8 --seconds=20 --clients=4 --boards=16 --board-seconds=30 --telemetry-every=30 --placements=50 --aligned=false]
#   bash dev/bench.sh tenant-scale [CLUSTER_PODS [NODE_PODS [SECONDS [TIMED_PODS [SIM_LIBRARY]]]]]
#   bash dev/bench.sh tenant-burst [HOSTS [PODS [SIM_LIBRARY]]]
#   bash dev/bench.sh metering [--tenants=1000 --intervals=3000000 --times=200]
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/services.sh >/dev/null
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk >/dev/null
mvn -B -ntp -q -pl bench,host-agent,tenant-agent -am package -DskipTests
exec java -Xmx4g -jar bench/target/bench-0.1.0-SNAPSHOT-all.jar "$@"
