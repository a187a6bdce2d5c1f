#!/usr/bin/env bash
# Sets up and runs GPU Fleet on this machine, no GPU needed: the real services from Debian's
# packages (dev/services.sh), the control-api on http://127.0.0.1:8080, and simulated GPU hosts
# (a host-agent each, on the simulated NVML with 8 x NVIDIA RTX A6000) that register and report.
#
#   bash dev/run.sh                      # control-api + 2 simulated hosts
#   GPUFLEET_DEMO_HOSTS=0 bash dev/run.sh  # control-api only
#
# State (operator token, logs, agent state) lives in .dev/. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS="${GPUFLEET_DEMO_HOSTS:-2}"
LISTEN="${GPUFLEET_LISTEN:-127.0.0.1:8080}"
API="http://$LISTEN"

bash dev/services.sh >/dev/null
mvn -B -ntp -q -pl control-api,host-agent -am package -DskipTests

mkdir -p .dev
if [ ! -s .dev/operator-token ]; then
  echo "gfo_dev-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > .dev/operator-token
  chmod 600 .dev/operator-token
fi
export GPUFLEET_OPERATOR_TOKEN="${GPUFLEET_OPERATOR_TOKEN:-$(cat .dev/operator-token)}"
# The sealing key for workload secrets in the database: kept beside, never in, the database.
if [ ! -s .dev/seal.key ]; then
  (umask 077; head -c 32 /dev/urandom | base64 > .dev/seal.key)
fi
export GPUFLEET_SEAL_KEY_FILE="${GPUFLEET_SEAL_KEY_FILE:-$PWD/.dev/seal.key}"
export GPUFLEET_DB_URL="${GPUFLEET_DB_URL:-jdbc:postgresql://127.0.0.1:5432/gpufleet}"
export GPUFLEET_DB_USER="${GPUFLEET_DB_USER:-gpufleet}"
export GPUFLEET_DB_PASSWORD="${GPUFLEET_DB_PASSWORD:-gpufleet}"
export GPUFLEET_LISTEN="$LISTEN"
# The Caddy that dev/services.sh started is the edge: routes answer at https://<name>:8443.
export GPUFLEET_EDGE_ADMIN_URL="${GPUFLEET_EDGE_ADMIN_URL:-http://127.0.0.1:2019}"
export GPUFLEET_EDGE_DOMAIN="${GPUFLEET_EDGE_DOMAIN:-fleet.localhost}"
export GPUFLEET_EDGE_HTTPS_PORT="${GPUFLEET_EDGE_HTTPS_PORT:-8443}"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

java -jar control-api/target/control-api-0.1.0-SNAPSHOT-all.jar > .dev/control-api.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do curl -fsS "$API/readyz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "$API/readyz" >/dev/null || { tail -20 .dev/control-api.log; echo "control-api did not become ready" >&2; exit 1; }

if [ "$HOSTS" -gt 0 ]; then
  for i in $(seq 1 "$HOSTS"); do
    name=$(printf 'sim-gpu-%02d' "$i")
    # A join token for this host alone: it registers the name $name once, within the hour.
    join=$(curl -fsS -H "Authorization: Bearer $GPUFLEET_OPERATOR_TOKEN" -H 'Content-Type: application/json' \
      -d "{\"ttl\":\"1h\",\"hosts\":[\"$name\"],\"description\":\"dev/run.sh $name\"}" "$API/v1/join-tokens" \
      | sed -E 's/.*"token":"([^"]+)".*/\1/')
    conf=".dev/$name.nvml.conf"
    {
      echo "driver 550.127.05"
      echo "cuda 12040"
      for g in 0 1 2 3 4 5 6 7; do
        printf 'gpu uuid=GPU-%08x-%04x-4000-8000-%012x name="NVIDIA RTX A6000" serial=132%07d pci=00000000:%02X:00.0 numa=%d mem_total=51527024640 mem_used=%d util_gpu=%d util_mem=%d temp=%d power_mw=%d power_limit_mw=300000 energy_mj=%d ecc=1 mig=0\n' \
          "$i" "$g" "$g" "$((i * 100 + g))" "$((0x18 + g))" "$((g / 4))" "$((g * 268435456))" "$((g * 7 % 100))" "$((g * 3))" "$((31 + g))" "$((21000 + g * 500))" "$((1000000 + g))"
      done
      echo "topology 0 1 NVLINK"; echo "topology 2 3 NVLINK"; echo "topology 4 5 NVLINK"; echo "topology 6 7 NVLINK"
    } > "$conf"
    GPUFLEET_CONTROL_API_URL="$API" GPUFLEET_JOIN_TOKEN="$join" GPUFLEET_HOST_NAME="$name" \
    GPUFLEET_STATE_DIR="$PWD/.dev/$name" GPUFLEET_NVML_LIBRARY="$PWD/host-agent/target/nvml-sim/libnvidia-ml-sim.so" \
    GPUFLEET_NVML_SIM_CONFIG="$PWD/$conf" GPUFLEET_METRICS_LISTEN="127.0.0.1:$((9410 + i))" \
    GPUFLEET_STREAM_PORT="$((10350 + i))" \
      java -Xmx96m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1 \
      -jar host-agent/target/host-agent-0.1.0-SNAPSHOT-all.jar run > ".dev/$name.log" 2>&1 &
    pids+=($!)
  done
fi

cat <<MSG

GPU Fleet is running.
  control-api      $API            (log: .dev/control-api.log)
  operator token   $GPUFLEET_OPERATOR_TOKEN   (also in .dev/operator-token)
  simulated hosts  $HOSTS x 8 NVIDIA RTX A6000   (logs: .dev/sim-gpu-*.log, metrics: http://127.0.0.1:9401/metrics …)
  edge             Caddy, routes at https://<service uid>-<tenant>.$GPUFLEET_EDGE_DOMAIN:$GPUFLEET_EDGE_HTTPS_PORT

Try:
  curl -s -H "Authorization: Bearer \$(cat .dev/operator-token)" $API/v1/hosts
  curl -s -H "Authorization: Bearer \$(cat .dev/operator-token)" '$API/v1/gpus?state=free&limit=5'
  curl -s -H "Authorization: Bearer \$(cat .dev/operator-token)" $API/v1/fleet/summary
  echo 'event gpu 3 xid 79' >> .dev/sim-gpu-01.nvml.conf   # a GPU falls off the bus

Ctrl-C stops everything.
MSG
wait
