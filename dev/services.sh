#!/usr/bin/env bash
# Installs (from Debian 12 packages only) and starts the real parts that GPU Fleet
# and its tests use on a development machine (README.md, "Test it", says what each is for):
#
#   postgres  PostgreSQL 15 on 127.0.0.1:5432, role/db gpufleet (password gpufleet)
#   docker    Docker Engine (dockerd) with a runtime "nvidia"
#   images    local test images gpufleet/busybox:test, gpufleet/pause:test and gpufleet/web:test,
#             and busybox as other users: gpufleet/busybox:uid1000 (USER 1000), gpufleet/busybox:nobody
#   registry  a private image registry on 127.0.0.1:5000 with basic auth, holding
#             gpufleet/busybox:test (pull-secret and image-pull tests)
#   caddy     Caddy 2 with its admin API on 127.0.0.1:2019
#   nvml      NVML library and header from Debian's contrib/non-free components
#   ansible   Ansible, ansible-lint and debootstrap; the image gpufleet/bookworm-host:test
#             (a debootstrapped Debian 12 with systemd) that stands in for a bare-metal
#             server in the provisioning tests (ansible/)
#   programs  GPU Fleet's own images (dev/images.sh): the base gpufleet/jre17-base (Debian 12 minbase
#             and its JRE 17, by debootstrap), and, for each program whose jar Maven has built, its
#             image gpufleet/PROGRAM:VERSION pushed to the registry above (before the first build there
#             are no jars: the tests that run the images build them from the jars, faults/ImagesIT)
#   chromium  headless Chromium and its chromedriver at /usr/bin (the dashboard's browser tests)
#   kubectl   a kubectl on the PATH (Debian's kubernetes-client unless one is there), which the
#             kubelet API's tests drive through the whole relay
#
# Usage: bash dev/services.sh [SERVICE...]     (default: all, in the order above)
#
# Safe to run any number of times: every step checks before it installs, writes
# or starts anything, so a run on a machine where everything is up only verifies.
# Needs root. Works without systemd (daemons are started in the background).
set -euo pipefail

# ---------------------------------------------------------------- settings ---
PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_MAX_CONNECTIONS=300            # tests run several connection pools
DB_USER=gpufleet
DB_PASSWORD=gpufleet
DB_NAME=gpufleet

DOCKER_DAEMON_JSON=/etc/docker/daemon.json
DOCKER_LOG=/var/log/dockerd.log

BUSYBOX_IMAGE=gpufleet/busybox:test
PAUSE_IMAGE=gpufleet/pause:test
IMAGE_REV=1                       # bump to force a rebuild of the test images
WEB_IMAGE=gpufleet/web:test       # the edge benchmark's keep-alive web server (Caddy)
WEB_IMAGE_REV=1                   # bump to force a rebuild of it

REGISTRY_ADDR=127.0.0.1:5000
REGISTRY_USER=gpufleet
REGISTRY_PASSWORD=gpufleet-pull
REGISTRY_IMAGE=$REGISTRY_ADDR/gpufleet/busybox:test
REGISTRY_LOG=/var/log/registry-gpufleet.log

GPUFLEET_ETC=/etc/gpufleet
CADDY_CONFIG=$GPUFLEET_ETC/caddy.json
CADDY_ADMIN=127.0.0.1:2019
CADDY_STATE=/var/lib/gpufleet/caddy   # XDG dirs of our caddy (its local CA lives here)
CADDY_LOG=/var/log/caddy-gpufleet.log

HOST_IMAGE=gpufleet/bookworm-host:test   # built by ansible/test/build-stand-in-image.sh
HOST_IMAGE_REV=2                  # bump to force a rebuild of the stand-in server image

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8             # so a cluster created here is UTF8 / C.UTF-8
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# ----------------------------------------------------------------- helpers ---
log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUMMARY=()
summary() { SUMMARY+=("$(printf '%-9s %s' "$1" "$2")"); }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.5 s.
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out after ${timeout}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

# write_if_changed PATH CONTENT: returns 0 if the file was (re)written, 1 if it already had CONTENT.
write_if_changed() {
  local path=$1 content=$2
  if [[ -f $path ]] && [[ "$(cat "$path")" == "$content" ]]; then return 1; fi
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.tmp.$$"
  mv "$path.tmp.$$" "$path"
  log "wrote $path"
}

# start_background LOGFILE COMMAND...: starts a daemon detached from this script. Descriptors
# above 2 that the caller had open are closed first: a daemon that inherits one keeps it open
# for its whole life (a lock the caller held, e.g. `flock LOCK bash dev/fresh-check.sh`, would
# never be released).
start_background() {
  local logfile=$1; shift
  mkdir -p "$(dirname "$logfile")"
  printf '\n=== %s: starting %s\n' "$(date -Is)" "$*" >>"$logfile"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null; fi
    done
    exec nohup setsid "$@" >>"$logfile" 2>&1 </dev/null
  ) &
}

# Package installation. Service starts from maintainer scripts are blocked with a
# policy-rc.d while we install (this script starts the daemons itself, with its
# own configuration; there is no systemd here anyway).
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
cleanup() { if ((POLICY_RC_OURS)); then rm -f "$POLICY_RC"; fi; }
trap cleanup EXIT

is_installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }
apt_lists_present() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }
apt_update() { log "apt-get update"; apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null; }

# ensure_packages PACKAGE...: installs the ones missing (without recommends: they
# pull in needrestart, git, criu...). apt's chatter goes to stderr.
ensure_packages() {
  local missing=() p
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  apt_lists_present || apt_update
  if [[ ! -e $POLICY_RC ]]; then
    printf '#!/bin/sh\n# temporary, from dev/services.sh: no service starts during apt-get install\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    POLICY_RC_OURS=1
  fi
  log "apt-get install ${missing[*]}"
  if ! apt-get install "${APT_OPTS[@]}" "${missing[@]}" >&2; then
    log "install failed; refreshing package lists and retrying once"
    apt_update
    apt-get install "${APT_OPTS[@]}" "${missing[@]}" >&2
  fi
  cleanup; POLICY_RC_OURS=0
}

# -------------------------------------------------------------- PostgreSQL ---
pg_status() {  # prints online/down, or nothing if the cluster does not exist
  pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $4 }'
}
pg_admin() {   # psql as the postgres superuser over the local socket
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -tA "$@")
}
pg_login_ok() {
  PGPASSWORD=$DB_PASSWORD psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" -tAc 'select 1' 2>/dev/null | grep -qx 1
}

service_postgres() {
  # pgbench ships in postgresql-15 (/usr/lib/postgresql/15/bin/pgbench, wrapper /usr/bin/pgbench);
  # postgresql-contrib adds the contrib extensions.
  ensure_packages postgresql postgresql-contrib "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION"

  if [[ -z "$(pg_status)" ]]; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER"
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3 }')
  [[ $port == "$PG_PORT" ]] || die "cluster $PG_VERSION/$PG_CLUSTER uses port $port, expected $PG_PORT"

  # A conf.d file (Debian's postgresql.conf includes conf.d); applied below by a
  # restart only if the running server has another value.
  write_if_changed "/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/gpufleet.conf" \
"# written by dev/services.sh
max_connections = $PG_MAX_CONNECTIONS" || true

  local state=started
  if [[ "$(pg_status)" != online ]]; then
    log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
  elif [[ "$(pg_admin -c 'show max_connections')" != "$PG_MAX_CONNECTIONS" ]]; then
    log "restarting PostgreSQL to apply max_connections = $PG_MAX_CONNECTIONS"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" restart
    state=restarted
  else
    state="already running"
  fi
  wait_for 30 "PostgreSQL to accept connections" pg_admin -c 'select 1' || die "PostgreSQL is not answering; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
  local max
  max=$(pg_admin -c 'show max_connections')
  [[ $max == "$PG_MAX_CONNECTIONS" ]] || die "max_connections is $max, expected $PG_MAX_CONNECTIONS (is conf.d included?)"

  # Role: LOGIN CREATEDB (tests create a database per test class).
  local role
  role=$(pg_admin -c "select rolcanlogin and rolcreatedb from pg_roles where rolname = '$DB_USER'")
  if [[ -z $role ]]; then
    log "creating role $DB_USER"
    pg_admin -c "create role $DB_USER login createdb password '$DB_PASSWORD'"
  elif [[ $role != t ]]; then
    log "granting LOGIN CREATEDB to role $DB_USER"
    pg_admin -c "alter role $DB_USER login createdb"
  fi
  local owner
  owner=$(pg_admin -c "select pg_get_userbyid(datdba) from pg_database where datname = '$DB_NAME'")
  if [[ -z $owner ]]; then
    log "creating database $DB_NAME"
    pg_admin -c "create database $DB_NAME owner $DB_USER"
  elif [[ $owner != "$DB_USER" ]]; then
    log "making $DB_USER the owner of database $DB_NAME"
    pg_admin -c "alter database $DB_NAME owner to $DB_USER"
  fi
  if ! pg_login_ok; then
    log "password login over TCP failed; (re)setting the password of $DB_USER"
    pg_admin -c "alter role $DB_USER password '$DB_PASSWORD'"
    pg_login_ok || die "cannot log in as $DB_USER over TCP on 127.0.0.1:$PG_PORT; check pg_hba.conf (host ... 127.0.0.1/32 scram-sha-256)"
  fi

  [[ "$(pg_admin -c 'show server_encoding')" == UTF8 ]] ||
    log "WARNING: cluster $PG_VERSION/$PG_CLUSTER is not UTF8; databases created from template1 inherit that"
  local version
  version=$(pg_admin -c 'show server_version')
  summary postgres "PostgreSQL $version $state at 127.0.0.1:$PG_PORT db=$DB_NAME user=$DB_USER max_connections=$max pgbench=/usr/lib/postgresql/$PG_VERSION/bin/pgbench"
}

# ------------------------------------------------------------------ Docker ---
docker_up() { docker info >/dev/null 2>&1; }

start_dockerd() {
  log "starting dockerd (log: $DOCKER_LOG)"
  start_background "$DOCKER_LOG" dockerd
  if ! wait_for 60 "dockerd" docker info; then
    tail -n 40 "$DOCKER_LOG" >&2
    die "dockerd did not come up within 60 s (log above, full log: $DOCKER_LOG)"
  fi
}

stop_dockerd() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || die "dockerd answers but /var/run/docker.pid names no live process; stop it by hand"
  log "stopping dockerd (pid $pid) to apply $DOCKER_DAEMON_JSON"
  kill "$pid"
  wait_for 60 "dockerd to exit" bash -c "! kill -0 $pid" || die "dockerd (pid $pid) did not exit"
}

service_docker() {
  # apparmor (only a Recommends of docker.io) provides apparmor_parser, which
  # dockerd needs to load its default profile on kernels with AppArmor enabled.
  ensure_packages docker.io apparmor

  # Runtime "nvidia": the NVIDIA runtime on a GPU host, else plain runc (the NVIDIA
  # runtime is a runc wrapper, so this exercises everything but device injection).
  local nvidia_path
  nvidia_path=$(command -v nvidia-container-runtime || command -v runc || true)
  [[ -n $nvidia_path ]] || die "neither nvidia-container-runtime nor runc found (docker.io should have pulled in runc)"
  # live-restore as Ansible's docker role sets it (containers outlive a dockerd restart). Not
  # no-new-privileges: this daemon also runs the provisioning stand-ins (systemd and a nested
  # dockerd); the host-agent asks it of every tenant container itself. Not log rotation: Docker
  # 20.10 stops following a log across rotations, which StreamsIT's 100 MiB followed log finds.
  local config
  config=$(cat <<EOF
{
  "live-restore": true,
  "runtimes": {
    "nvidia": { "path": "$nvidia_path" }
  }
}
EOF
)
  local state=started
  if write_if_changed "$DOCKER_DAEMON_JSON" "$config" && docker_up; then
    stop_dockerd
    state=restarted
  fi
  if docker_up; then
    [[ $state == restarted ]] || state="already running"
  else
    start_dockerd
  fi

  local runtimes
  runtimes=$(docker info --format '{{json .Runtimes}}')
  [[ $runtimes == *'"nvidia"'* ]] || die "docker runtimes lack nvidia: $runtimes (see $DOCKER_DAEMON_JSON, $DOCKER_LOG)"
  summary docker "Docker Engine $(docker version --format '{{.Server.Version}}') $state at unix:///var/run/docker.sock storage=$(docker info --format '{{.Driver}}') runtime nvidia=$nvidia_path (log $DOCKER_LOG)"
}

# ------------------------------------------------------------- test images ---
image_rev() { docker image inspect --format '{{index .Config.Labels "org.gpufleet.image-rev"}}' "$1" 2>/dev/null || true; }

# build_busybox_image TAG CMD_JSON: docker import of a root filesystem holding the
# static busybox with a symlink for each of its applets in /bin.
build_busybox_image() {
  local tag=$1 cmd=$2 busybox root
  busybox=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$')
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev,usr/bin}
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  ln -s ../../bin/env "$root/usr/bin/env"
  for applet in sh sleep echo cat httpd ls env stty wget nc true false id hostname ps mkdir printf tail head seq yes date; do
    [[ -e "$root/bin/$applet" ]] || die "busybox has no applet $applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  log "building $tag"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import \
      --change "CMD $cmd" \
      --change 'ENV PATH=/bin:/usr/bin' \
      --change "LABEL org.gpufleet.image-rev=$IMAGE_REV" \
      --message "dev/services.sh: busybox-static ($(dpkg-query -W -f='${Version}' busybox-static))" \
      - "$tag" >/dev/null
  rm -rf "$root"
}

# build_web_image: Debian's Caddy (with the libraries it links) answering "It works!" from a
# file, with keep-alive, over HTTP on 8080 and over HTTPS on 8443 (name web.test, certificate from
# the container's own local CA), as user nobody. The edge benchmark's backend: busybox httpd closes
# the connection after every answer, which hid the edge's own cost behind a TCP connect each time.
build_web_image() {
  local root lib
  root=$(mktemp -d)
  mkdir -p "$root"/{etc,tmp,www,usr/bin}
  chmod 1777 "$root/tmp"
  cp /usr/bin/caddy "$root/usr/bin/caddy"
  for lib in $(ldd /usr/bin/caddy | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  echo 'It works!' >"$root/www/index.html"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  local site='"routes": [{ "handle": [{ "handler": "file_server", "root": "/www" }] }], "automatic_https": { "disable": true }'
  cat >"$root/etc/web.json" <<JSON
{
  "admin": { "disabled": true },
  "apps": {
    "http": { "servers": {
      "http": { "listen": [":8080"], $site },
      "https": { "listen": [":8443"], "tls_connection_policies": [{}], $site }
    } },
    "tls": {
      "certificates": { "automate": ["web.test"] },
      "automation": { "policies": [{ "subjects": ["web.test"], "issuers": [{ "module": "internal" }] }] }
    },
    "pki": { "certificate_authorities": { "local": { "install_trust": false } } }
  }
}
JSON
  log "building $WEB_IMAGE"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import \
      --change 'CMD ["/usr/bin/caddy", "run", "--config", "/etc/web.json"]' \
      --change 'ENV XDG_DATA_HOME=/tmp/data XDG_CONFIG_HOME=/tmp/config' \
      --change 'USER 65534' \
      --change "LABEL org.gpufleet.image-rev=$WEB_IMAGE_REV" \
      --message "dev/services.sh: caddy ($(dpkg-query -W -f='${Version}' caddy))" \
      - "$WEB_IMAGE" >/dev/null
  rm -rf "$root"
}

service_images() {
  docker_up || die "docker is not running (run: bash dev/services.sh docker)"
  ensure_packages busybox-static
  local built=()
  if [[ "$(image_rev "$BUSYBOX_IMAGE")" != "$IMAGE_REV" ]]; then
    build_busybox_image "$BUSYBOX_IMAGE" '["sh"]'
    built+=("$BUSYBOX_IMAGE")
  fi
  if [[ "$(image_rev "$PAUSE_IMAGE")" != "$IMAGE_REV" ]]; then
    # Sleeps until stopped; the trap makes it exit at once on SIGTERM (a bare
    # `sleep` as PID 1 ignores it, so `docker stop` would wait its full timeout).
    build_busybox_image "$PAUSE_IMAGE" '["sh", "-c", "trap \"exit 0\" TERM INT; sleep 2147483647 & wait"]'
    built+=("$PAUSE_IMAGE")
  fi
  # busybox as other users (non-root images for runAsNonRoot and image-update tests), made from it.
  local user tag
  for user in uid1000:1000 nobody:nobody; do
    tag="$BUSYBOX_IMAGE"; tag="${tag%:*}:${user%%:*}"
    if [[ "$(image_rev "$tag")" != "$IMAGE_REV" || " ${built[*]} " == *" $BUSYBOX_IMAGE "* ]]; then
      printf 'FROM %s\nUSER %s\nLABEL org.gpufleet.image-rev=%s\n' "$BUSYBOX_IMAGE" "${user#*:}" "$IMAGE_REV" |
        docker build -q -t "$tag" - >/dev/null || die "docker build $tag failed"
      built+=("$tag")
    fi
  done
  if [[ "$(image_rev "$WEB_IMAGE")" != "$WEB_IMAGE_REV" ]]; then
    ensure_packages caddy
    build_web_image
    built+=("$WEB_IMAGE")
  fi
  local out
  out=$(docker run --rm --runtime nvidia "$BUSYBOX_IMAGE" echo ok 2>&1) || true
  [[ $out == ok ]] || die "docker run --rm --runtime nvidia $BUSYBOX_IMAGE echo ok gave: $out"
  local what="already present"
  ((${#built[@]} == 0)) || what="built ${built[*]}"
  summary images "$BUSYBOX_IMAGE $PAUSE_IMAGE $WEB_IMAGE (and busybox as uid1000, nobody) $what; docker run --runtime nvidia: ok"
}

# ---------------------------------------------------------------- registry ---
registry_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$REGISTRY_ADDR/v2/" || true; }
registry_up() { [[ "$(registry_code)" == 401 ]]; }
registry_has_image() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/gpufleet/busybox/manifests/test")" == 200 ]]
}

service_registry() {
  docker_up || die "docker is not running (run: bash dev/services.sh docker)"
  command -v curl >/dev/null || ensure_packages curl
  ensure_packages docker-registry apache2-utils
  local dir=$GPUFLEET_ETC/registry
  mkdir -p "$dir" /var/lib/gpufleet/registry
  # bcrypt is salted: write the password file only once, so reruns change nothing.
  [[ -s $dir/htpasswd ]] || htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$dir/htpasswd"
  write_if_changed "$dir/config.yml" "version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/gpufleet/registry
http:
  addr: $REGISTRY_ADDR
auth:
  htpasswd:
    realm: gpufleet-test
    path: $dir/htpasswd" || true
  local state="already running"
  if ! registry_up; then
    log "starting docker-registry (log: $REGISTRY_LOG)"
    start_background "$REGISTRY_LOG" docker-registry serve "$dir/config.yml"
    if ! wait_for 30 "the registry on $REGISTRY_ADDR" registry_up; then
      tail -n 40 "$REGISTRY_LOG" >&2
      die "the registry did not answer on $REGISTRY_ADDR within 30 s (log above)"
    fi
    state=started
  fi
  local image="already there"
  if ! registry_has_image; then
    log "pushing $REGISTRY_IMAGE"
    docker tag "$BUSYBOX_IMAGE" "$REGISTRY_IMAGE"
    # A throwaway client config, so the machine's docker login is left as it was.
    local cfg
    cfg=$(mktemp -d)
    printf '%s' "$REGISTRY_PASSWORD" | docker --config "$cfg" login -u "$REGISTRY_USER" --password-stdin "$REGISTRY_ADDR" >/dev/null 2>&1 ||
      die "docker login to $REGISTRY_ADDR failed"
    docker --config "$cfg" push "$REGISTRY_IMAGE" >/dev/null
    rm -rf "$cfg"
    docker rmi "$REGISTRY_IMAGE" >/dev/null
    registry_has_image || die "pushed $REGISTRY_IMAGE but the registry does not list it"
    image=pushed
  fi
  summary registry "docker-registry $state on $REGISTRY_ADDR (basic auth $REGISTRY_USER), $REGISTRY_IMAGE $image (log $REGISTRY_LOG)"
}

# ------------------------------------------------------------------- Caddy ---
caddy_up() { curl -fsS -o /dev/null --max-time 2 "http://$CADDY_ADMIN/config/"; }

service_caddy() {
  command -v curl >/dev/null || ensure_packages curl
  # The package's postinst would start caddy.service through systemd; with no
  # systemd running that is skipped (and policy-rc.d blocks the rest).
  ensure_packages caddy
  write_if_changed "$CADDY_CONFIG" '{
  "admin": { "listen": "'"$CADDY_ADMIN"'" }
}' || true
  local state="already running"
  if ! caddy_up; then
    log "starting caddy (log: $CADDY_LOG)"
    mkdir -p "$CADDY_STATE"
    start_background "$CADDY_LOG" env XDG_DATA_HOME="$CADDY_STATE/data" XDG_CONFIG_HOME="$CADDY_STATE/config" \
      caddy run --config "$CADDY_CONFIG"
    if ! wait_for 30 "caddy admin API" caddy_up; then
      tail -n 40 "$CADDY_LOG" >&2
      die "caddy admin API did not answer on $CADDY_ADMIN within 30 s (log above)"
    fi
    state=started
  fi
  summary caddy "Caddy $(caddy version | awk '{print $1}') $state, admin API http://$CADDY_ADMIN config $CADDY_CONFIG local CA $CADDY_STATE/data/caddy/pki/authorities/local (log $CADDY_LOG)"
}

# -------------------------------------------------------------------- NVML ---
# Adds COMPONENT... to Debian's own entries in the apt sources (deb822 file and/or
# one-line sources.list) in place. Returns 0 if a file changed.
enable_debian_components() {
  local changed=1 f tmp
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [[ -f $f ]] || continue
    tmp=$(mktemp)
    if [[ $f == *.sources ]]; then
      awk -v want="$*" '
        /^Components:/ { n = split(want, w, " "); for (i = 1; i <= n; i++) if ((" " $0 " ") !~ (" " w[i] " ")) $0 = $0 " " w[i] }
        { print }' "$f" >"$tmp"
    else
      awk -v want="$*" '
        $1 ~ /^deb(-src)?$/ {
          i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) ~ /^bookworm/) { n = split(want, w, " "); for (j = 1; j <= n; j++) if ((" " $0 " ") !~ (" " w[j] " ")) $0 = $0 " " w[j] }
        }
        { print }' "$f" >"$tmp"
    fi
    if cmp -s "$f" "$tmp"; then
      rm -f "$tmp"
    else
      cat "$tmp" >"$f"; rm -f "$tmp"   # keep the file's owner and mode
      log "enabled components '$*' in $f"
      changed=0
    fi
  done
  return $changed
}

service_nvml() {
  if ! is_installed libnvidia-ml1 || ! is_installed libnvidia-ml-dev; then
    # libnvidia-ml1 is in non-free; its dependencies (glx-alternative-nvidia, ...) in contrib.
    if enable_debian_components contrib non-free; then apt_update; fi
    ensure_packages libnvidia-ml1 libnvidia-ml-dev
  fi
  local lib header
  # Every reader here takes all its input: one that stops early (head, awk's exit) can kill the
  # writer with SIGPIPE, which pipefail turns into a silent exit of this whole script (it did,
  # once, right after installing these packages on a fresh machine).
  lib=$(dpkg -L libnvidia-ml1 | awk '/\/libnvidia-ml\.so\.1$/ && !n++')
  header=$(dpkg -L libnvidia-ml-dev | awk '/\/nvml\.h$/ && !n++')
  [[ -n $lib && -e $lib ]] || die "libnvidia-ml.so.1 not found in package libnvidia-ml1"
  [[ -n $header && -e $header ]] || die "nvml.h not found in package libnvidia-ml-dev"
  local linked
  linked=$(ldconfig -p | awk '$1 == "libnvidia-ml.so.1" && !n++ { print $NF }')
  summary nvml "libnvidia-ml1 $(dpkg-query -W -f='${Version}' libnvidia-ml1): $lib (ld.so: ${linked:-not in ldconfig cache}), nvml.h: $header"
}

# ----------------------------------------------------------------- Ansible ---
service_ansible() {
  docker_up || die "docker is not running (run: bash dev/services.sh docker)"
  ensure_packages ansible ansible-lint debootstrap
  local state="already present"
  if [[ "$(image_rev "$HOST_IMAGE")" != "$HOST_IMAGE_REV" ]]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/../ansible/test/build-stand-in-image.sh" "$HOST_IMAGE" "$HOST_IMAGE_REV"
    state=built
  fi
  summary ansible "$(ansible --version | awk 'NR == 1'), ansible-lint $(dpkg-query -W -f='${Version}' ansible-lint); image $HOST_IMAGE $state"
}

# ---------------------------------------------------------------- programs ---
service_programs() {
  docker_up || die "docker is not running (run: bash dev/services.sh docker)"
  registry_up || die "the registry is not running (run: bash dev/services.sh registry)"
  ensure_packages debootstrap unzip
  bash "$(dirname "${BASH_SOURCE[0]}")/images.sh" all
  summary programs "$(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^gpufleet/(jre17-base|control-api|host-agent|tenant-agent):' | sort | paste -sd, -)"
}

# ---------------------------------------------------------------- Chromium ---
# The dashboard tests drive Debian's Chromium through its chromedriver; both are
# named by path so Selenium never looks for (or downloads) a browser of its own.
service_chromium() {
  ensure_packages chromium chromium-driver
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing after installing chromium"
  [[ -x /usr/bin/chromedriver ]] || die "/usr/bin/chromedriver missing after installing chromium-driver"
  summary chromium "$(/usr/bin/chromium --version 2>/dev/null | awk 'NR == 1'), $(/usr/bin/chromedriver --version | cut -d' ' -f1-2)"
}

# The kubelet API is checked with a real kubectl (Go's SPDY and WebSocket clients, not ours). A
# kubectl already installed (from any source) is used as it is: Debian's package would clash with it.
service_kubectl() {
  command -v kubectl >/dev/null || ensure_packages kubernetes-client
  command -v kubectl >/dev/null || die "kubectl missing after installing kubernetes-client"
  summary kubectl "$(kubectl version --client 2>/dev/null | awk 'NR == 1')"
}

# ---------------------------------------------------------------- promtool ---
# The alert rules (monitoring/alerts.yml) are checked and unit-tested with promtool, from Debian's
# prometheus package. Only the tool is used: the package's server is never started here.
service_promtool() {
  ensure_packages prometheus
  command -v promtool >/dev/null || die "promtool missing after installing prometheus"
  summary promtool "$(promtool --version 2>&1 | awk 'NR == 1')"
}

# -------------------------------------------------------------------- main ---
main() {
  [[ $(id -u) == 0 ]] || die "run as root"
  local all=(postgres docker images registry caddy nvml ansible programs chromium kubectl promtool) s
  local services=("$@")
  ((${#services[@]})) || services=("${all[@]}")
  for s in "${services[@]}"; do
    declare -F "service_$s" >/dev/null || die "unknown service '$s' (known: ${all[*]})"
  done
  local start=$SECONDS
  for s in "${services[@]}"; do
    log "== $s"
    "service_$s"
  done
  log "done in $((SECONDS - start)) s"
  printf '%s\n' "${SUMMARY[@]}"
}

main "$@"
