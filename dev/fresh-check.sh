#!/usr/bin/env bash
# Runs the test suite as a newcomer would: a clean clone of this repository's HEAD, on a machine
# reset to what it looks like before the project ever ran, then .ci/run there, as CI does
# (`bash dev/services.sh`, then README.md's test command `mvn -B -ntp verify`). "Passes on a fresh machine" is what this checks;
# run it before calling an issue resolved.
#
#   bash dev/fresh-check.sh            # reset, clone, test; prints the wall time and the test counts
#   bash dev/fresh-check.sh --images   # also remove the test images, so dev/services.sh builds them again
#   bash dev/fresh-check.sh --keep     # keep the clone (its path is printed) to read reports afterwards
#
# What it resets (everything the project's tests and dev/run.sh leave behind, nothing else):
#   - Docker: containers, networks and volumes of the project (labels org.gpufleet.*, names gf-*,
#     gpufleet-*), then dockerd itself is stopped, so that dev/services.sh starts a new one (a
#     dockerd that was just started differs from a long-running one: its default bridge has no
#     gateway in its IPAM record, for one);
#   - PostgreSQL: every database owned by the project's role (the test databases and gpufleet
#     itself; dev/services.sh makes gpufleet again), and the fault tests' own clusters (gpufleetfaults*)
#     and Docker bridges and network namespaces (gffault*) if a run left them;
#   - Caddy: stopped, so dev/services.sh starts it with the bare configuration (no routes), and
#     its local CA removed from the machine's trust store;
#   - the project's artifacts in the local Maven repository (a stale snapshot there can hide a
#     module that no longer builds), and this checkout's .dev/ (dev/run.sh's state: operator
#     token, agent credentials, logs).
# Uncommitted changes are not in the clone: commit first.
# Needs root, like dev/services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
KEEP=0
IMAGES=0
STALE=0
for arg in "$@"; do
  case $arg in
    --keep) KEEP=1 ;;
    --images) IMAGES=1 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-check: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[fresh-check %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if pgrep -f 'control-api-.*-all\.jar|host-agent-.*-all\.jar|tenant-agent-.*-all\.jar' >/dev/null; then
  log "GPU Fleet programs are running here (dev/run.sh?): stop them first"; pgrep -af -- '-all\.jar' >&2; exit 1
fi
if ! git diff --quiet HEAD || [[ -n "$(git ls-files --others --exclude-standard)" ]]; then
  log "note: uncommitted changes in $REPO are not part of the check (it tests $(git rev-parse --short HEAD))"
fi

# ----------------------------------------------------------------- reset ---
if docker info >/dev/null 2>&1; then
  containers=$(docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Labels}}' \
    | awk '$2 ~ /^(gf-|gpufleet-)/ || $0 ~ /org\.gpufleet\./ { print $1 }')
  if [[ -n $containers ]]; then
    log "removing $(wc -w <<<"$containers") container(s) of the project"
    docker rm -f -v $containers >/dev/null
  fi
  networks=$(docker network ls --format '{{.ID}} {{.Name}} {{.Labels}}' \
    | awk '$2 ~ /^(gf-|gpufleet-)/ || $0 ~ /org\.gpufleet\./ { print $1 }')
  if [[ -n $networks ]]; then
    log "removing $(wc -w <<<"$networks") network(s) of the project"
    # A container killed mid-create (the fault tests do that) can leave an endpoint that dockerd
    # forgets only when it restarts: such a network goes once dockerd restarts (after services.sh).
    docker network rm $networks >/dev/null || { log "network(s) with a stale endpoint: removed after dockerd restarts"; STALE=1; }
  fi
  volumes=$(docker volume ls -q | grep -E '^(gf-|gpufleet-)' || true)
  if [[ -n $volumes ]]; then
    log "removing $(wc -w <<<"$volumes") volume(s) of the project"
    docker volume rm $volumes >/dev/null
  fi
  if ((IMAGES)); then
    # name:tag, or the id of an image whose tag moved to a newer build (shown as <none>).
    list_images() {
      docker images --format '{{.Repository}} {{.Tag}} {{.ID}}' |
        awk '$1 ~ /(^|\/)gpufleet\// { print ($2 == "<none>" ? $3 : $1 ":" $2) }' | sort -u
    }
    images=$(list_images)
    if [[ -n $images ]]; then
      log "removing the test images: $(tr '\n' ' ' <<<"$images")"
      # An id may go with a tag removed before it in the same call; what is left is checked below.
      docker rmi -f $images >/dev/null 2>&1 || true
      left=$(list_images)
      [[ -z $left ]] || { log "could not remove: $(tr '\n' ' ' <<<"$left")"; exit 1; }
    fi
  fi
fi
stop_dockerd() {
  local pid
  pid=$(cat /var/run/docker.pid)
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "dockerd $pid did not stop"; exit 1; }
  return 0
}
if [[ -s /var/run/docker.pid ]]; then
  log "stopping dockerd ($(cat /var/run/docker.pid)); dev/services.sh starts a new one"
  stop_dockerd
fi
# The host-agent's pod firewall (docs/host-agent.md): a fresh machine has none; the tests' agents make it.
for tool in iptables ip6tables; do
  command -v "$tool" >/dev/null || continue
  for jump in "INPUT -i gfp+ -j GPUFLEET-POD-IN" "DOCKER-USER -i gfp+ -j GPUFLEET-POD-OUT" "FORWARD -i gfp+ -j GPUFLEET-POD-OUT"; do
    while $tool -w 5 -D $jump 2>/dev/null; do :; done
  done
  for chain in GPUFLEET-POD-IN GPUFLEET-POD-OUT; do
    if $tool -w 5 -F "$chain" 2>/dev/null; then
      $tool -w 5 -X "$chain" && log "$tool: removed the pod firewall's chain $chain"
    fi
  done
done
if ((STALE)); then
  # A network with a stale endpoint goes once dockerd has restarted: start it, remove, stop it again.
  log "restarting dockerd once to remove the network(s) with a stale endpoint"
  bash dev/services.sh docker >/dev/null
  left=$(docker network ls --format '{{.ID}} {{.Name}} {{.Labels}}' | awk '$2 ~ /^(gf-|gpufleet-)/ || $0 ~ /org\.gpufleet\./ { print $1 }')
  [[ -z $left ]] || docker network rm $left >/dev/null || { log "project networks still not removable: $left"; exit 1; }
  stop_dockerd
fi
if pgrep -x caddy >/dev/null; then
  log "stopping caddy; dev/services.sh starts it with the bare configuration"
  pkill -x caddy || true
  for _ in $(seq 1 20); do pgrep -x caddy >/dev/null || break; sleep 0.5; done
fi
if (cd / && runuser -u postgres -- psql -X -q -tAc 'select 1' >/dev/null 2>&1); then
  dbs=$(cd / && runuser -u postgres -- psql -X -q -tAc \
    "select datname from pg_database d join pg_roles r on r.oid = d.datdba where r.rolname = 'gpufleet'")
  for db in $dbs; do
    (cd / && runuser -u postgres -- psql -X -q -c "drop database \"$db\" with (force)")
  done
  [[ -z $dbs ]] || log "dropped $(wc -w <<<"$dbs") database(s) of the project"
fi
# The fault tests' own PostgreSQL clusters and Docker bridge, if a run died before removing them.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h | awk '$2 ~ /^gpufleetfaults/ { print $1, $2 }' | while read -r version name; do
    log "dropping the fault tests' PostgreSQL cluster $version/$name"
    pg_dropcluster "$version" "$name" --stop
  done
fi
for ns in $(ip netns list | awk '$1 ~ /^gffault/ { print $1 }'); do
  log "removing the fault tests' network namespace $ns (a private Docker Engine's)"
  ip netns delete "$ns"
done
for bridge in $(ip -o link show type bridge | awk -F': ' '$2 ~ /^gffault/ { sub(/@.*/, "", $2); print $2 }'); do
  log "removing the fault tests' Docker bridge $bridge"
  ip link delete "$bridge"
done
# Caddy's local CA root, put into the machine's trust store by Caddy versions or configurations
# that install trust (ours no longer asks for it).
if compgen -G '/usr/local/share/ca-certificates/Caddy_Local_Authority*' >/dev/null; then
  log "removing Caddy's local CA from the machine's trust store"
  rm -f /usr/local/share/ca-certificates/Caddy_Local_Authority*
  update-ca-certificates >/dev/null 2>&1 || true
fi
rm -rf "$HOME/.m2/repository/gpufleet" "$REPO/.dev"

# ----------------------------------------------------------------- clone ---
WORK=/tmp/gpufleet-fresh-$(date +%Y%m%d-%H%M%S)-$$
mkdir -m 700 "$WORK"
cleanup() { if ((KEEP)); then log "the clone stays at $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
git clone --quiet --no-local "$REPO" "$WORK/gpufleet"
cd "$WORK/gpufleet"
log "testing $(git log -1 --format='%h %s' | cut -c1-100) in $WORK/gpufleet"

# ------------------------------------------------------------------ test ---
# Exactly what CI runs on a clean checkout: .ci/run (dev/services.sh, then README.md's test command).
start=$SECONDS
status=0
log "bash .ci/run (log: $WORK/verify.log)"
bash .ci/run >"$WORK/verify.log" 2>&1 || status=$?
elapsed=$((SECONDS - start))

# Totals over every module's Surefire reports.
read -r tests failures errors skipped < <(cat */target/surefire-reports/TEST-*.xml 2>/dev/null | grep -o '<testsuite [^>]*' \
  | awk '{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) { gsub(/"/, "", kv[2]); n[kv[1]] += kv[2] } }
         END { print n["tests"] + 0, n["failures"] + 0, n["errors"] + 0, n["skipped"] + 0 }')
grep -E '^\[INFO\] (gpufleet|testkit|common|control-api|host-agent|tenant-agent|gpuctl|bench|faults|ansible).*(SUCCESS|FAILURE|SKIPPED)' \
  "$WORK/verify.log" 2>/dev/null | sed 's/^\[INFO\] /  /' >&2 || true
((status == 0)) || grep -E '^\[ERROR\] (Tests run|  [A-Za-z]+.*:[0-9]+|Failures|Errors)' "$WORK/verify.log" 2>/dev/null | head -30 >&2 || true
log "$( ((status == 0)) && echo PASSED || echo FAILED ) in $((elapsed / 60))m$((elapsed % 60))s (services and tests): $tests tests, $failures failures, $errors errors, $skipped skipped"
((status == 0)) || KEEP=1
exit "$status"
