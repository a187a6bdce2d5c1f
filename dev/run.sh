#!/usr/bin/env bash
# Sets up and runs GPU Fleet's control-api on this machine: PostgreSQL from Debian's packages,
# the jar built with Maven, the API on http://127.0.0.1:8080 (GPUFLEET_LISTEN to change it).
# The first start on an empty database prints the first operator token once.
set -euo pipefail
cd "$(dirname "$0")/.."

bash dev/services.sh postgres
if [ ! -f control-api/target/control-api-0.1.0-SNAPSHOT-all.jar ] || [ -n "$(find common control-api db -newer control-api/target/control-api-0.1.0-SNAPSHOT-all.jar -type f -not -path '*/target/*' | head -1)" ]; then
  mvn -B -ntp -q -pl control-api -am package -DskipTests
fi

export GPUFLEET_DB_URL="${GPUFLEET_DB_URL:-jdbc:postgresql://127.0.0.1:5432/gpufleet}"
export GPUFLEET_DB_USER="${GPUFLEET_DB_USER:-gpufleet}"
export GPUFLEET_DB_PASSWORD="${GPUFLEET_DB_PASSWORD:-gpufleet}"
exec java -jar control-api/target/control-api-0.1.0-SNAPSHOT-all.jar
