#!/usr/bin/env bash
# Builds GPU Fleet's OCI images without pulling anything from a public image registry, and pushes
# them to the local registry (dev/services.sh's, 127.0.0.1:5000):
#
#   gpufleet/jre17-base:BASE_REV   Debian 12 minbase (debootstrap, this machine's apt mirror) with
#                                  openjdk-17-jre-headless, the user gpufleet (65532) and a health
#                                  check helper; one layer
#   gpufleet/control-api:VERSION   the base plus the program's shaded jar (one more layer: a new jar
#   gpufleet/host-agent:VERSION    ships that layer only, never the JRE again)
#   gpufleet/tenant-agent:VERSION
#
# Usage: bash dev/images.sh base               the base, if its revision changed
#        bash dev/images.sh build [PROGRAM...]  program images from PROGRAM/target/PROGRAM-*-all.jar (all
#                                               three by default; a program without a jar is an error)
#        bash dev/images.sh push [PROGRAM...]   build, then push to the local registry
#        bash dev/images.sh all                 base, then build and push the programs whose jar exists
#                                               (dev/services.sh runs this: before the first Maven build
#                                               there are no jars yet, and only the base is made)
# A program image is rebuilt only when its recipe changed (its jar, the base, or what this script
# writes into it; a label records it), so running this again changes nothing. VERSION is the jar's, from the pom. Needs root (debootstrap)
# and a running dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_REV=1                          # bump to rebuild the base
BASE_IMAGE=gpufleet/jre17-base:$BASE_REV
SUITE=bookworm
REGISTRY=127.0.0.1:5000
REGISTRY_USER=gpufleet
REGISTRY_PASSWORD=gpufleet-pull
PROGRAMS=(control-api host-agent tenant-agent)
APP_UID=65532
LOG=/var/log/gpufleet-images.log

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# The first mirror this machine's apt takes $SUITE's main component from.
debian_mirror() {
  apt-get indextargets --format '$(SITE) $(CODENAME) $(COMPONENT)' 'Identifier: Packages' |
    awk -v s="$SUITE" '$2 == s && $3 == "main" && !n++ { print $1 }'
}

build_base() {
  if [[ "$(label "$BASE_IMAGE" org.gpufleet.image-rev)" == "$BASE_REV" ]]; then
    log "$BASE_IMAGE already present"; return
  fi
  [[ $(id -u) == 0 ]] || die "run as root (debootstrap needs it)"
  command -v debootstrap >/dev/null || die "debootstrap is missing (bash dev/services.sh ansible installs it)"
  local mirror security root
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || die "no Debian $SUITE main entry in this machine's apt sources to take a mirror from"
  security=$(apt-get indextargets --format '$(SITE) $(CODENAME)' 'Identifier: Packages' | awk -v s="$SUITE-security" '$2 == s && !n++ { print $1 }')
  # On disk, not in a possibly small /tmp; removed however the script ends.
  root=/var/tmp/gpufleet-base-rootfs.$$
  trap 'umount "'"$root"'/proc" 2>/dev/null || true; rm -rf "'"$root"'"' EXIT
  mkdir -p "$root"
  log "debootstrap $SUITE minbase from $mirror (log: $LOG)"
  debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "debootstrap failed"; }
  {
    echo "deb $mirror $SUITE main"
    echo "deb $mirror $SUITE-updates main"
    [[ -z $security ]] || echo "deb $security $SUITE-security main"
  } >"$root/etc/apt/sources.list"
  # The JRE's post-install runs java (the CA keystore), which needs /proc.
  mount -t proc proc "$root/proc"
  log "installing openjdk-17-jre-headless with the security updates"
  chroot "$root" /bin/bash -ec '
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update
    apt-get -q -y --no-install-recommends upgrade
    apt-get -q -y --no-install-recommends install openjdk-17-jre-headless
    apt-get clean' >>"$LOG" 2>&1 || { umount "$root/proc"; tail -n 20 "$LOG" >&2; die "installing the JRE failed"; }
  umount "$root/proc"
  chroot "$root" groupadd -g "$APP_UID" gpufleet
  chroot "$root" useradd -u "$APP_UID" -g "$APP_UID" -d /nonexistent -M -s /usr/sbin/nologin gpufleet
  # Neither apt's lists nor documentation in an image that is never updated in place.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/var/log/apt/*
  : >"$root/etc/machine-id"
  # The health check needs no curl: bash's /dev/tcp speaks HTTP/1.0 to the program's own endpoint.
  cat >"$root/usr/local/bin/gpufleet-healthcheck" <<'SH'
#!/bin/bash
# gpufleet-healthcheck VAR DEFAULT_PORT PATH: exit 0 when http://127.0.0.1:PORT/PATH answers 200,
# PORT from the environment variable VAR (host:port or a port), else DEFAULT_PORT.
v=${!1:-$2}; port=${v##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$3" >&3
read -r -t 5 _ code _ <&3 || exit 1
[[ $code == 200 ]]
SH
  chmod 755 "$root/usr/local/bin/gpufleet-healthcheck"
  local java_version
  java_version=$(chroot "$root" dpkg-query -W -f='${Version}' openjdk-17-jre-headless)
  log "importing $BASE_IMAGE (openjdk-17-jre-headless $java_version)"
  tar -C "$root" --numeric-owner -cf - . |
    docker import \
      --change 'ENV LANG=C.UTF-8 JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
      --change "USER $APP_UID:$APP_UID" \
      --change 'WORKDIR /nonexistent' \
      --change "LABEL org.gpufleet.image-rev=$BASE_REV org.opencontainers.image.title=gpufleet-jre17-base org.opencontainers.image.description=\"Debian $SUITE minbase with openjdk-17-jre-headless $java_version\"" \
      --message "dev/images.sh: debootstrap $SUITE minbase + openjdk-17-jre-headless $java_version" \
      - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"; trap - EXIT
}

jar_of() {
  local jars=("$1"/target/"$1"-*-all.jar)
  [[ -f ${jars[0]} ]] && echo "${jars[0]}"
}

# The program's ports and health endpoint: NAME_OF_VARIABLE DEFAULT_PORT, the image's own ENV.
program_settings() {
  case $1 in
    control-api) HEALTH="GPUFLEET_LISTEN 8080 /healthz"; ENVS="GPUFLEET_LISTEN=0.0.0.0:8080 GPUFLEET_METRICS_LISTEN=0.0.0.0:9464"; PORTS="8080 9464" ;;
    host-agent) HEALTH="GPUFLEET_METRICS_LISTEN 9401 /healthz"; ENVS="GPUFLEET_METRICS_LISTEN=0.0.0.0:9401"; PORTS="9401" ;;
    tenant-agent) HEALTH="GPUFLEET_HEALTH_PORT 8081 /healthz"; ENVS="GPUFLEET_HEALTH_PORT=8081"; PORTS="8081 10250" ;;
    *) die "unknown program '$1' (known: ${PROGRAMS[*]})" ;;
  esac
}

build_program() {
  local program=$1 jar version tag sum base_id revision source ctx
  jar=$(jar_of "$program") || die "no $program/target/$program-*-all.jar: build it first (mvn -pl $program -am package -DskipTests)"
  version=$(basename "$jar"); version=${version#"$program"-}; version=${version%-all.jar}
  tag=gpufleet/$program:$version
  sum=$(sha256sum "$jar" | cut -d' ' -f1)
  base_id=$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null) || die "no $BASE_IMAGE: run bash dev/images.sh base"
  program_settings "$program"
  # The commit the jar was built from (its manifest, written by Maven), not the checkout's now.
  revision=$(unzip -p "$jar" META-INF/MANIFEST.MF 2>/dev/null | tr -d '\r' | awk -F': ' '$1 == "X-Source-Revision" { print $2 }')
  source=${GPUFLEET_SOURCE_URL:-$(git config --get remote.origin.url 2>/dev/null || echo unknown)}
  ctx=$(mktemp -d)
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY app.jar /opt/gpufleet/$program.jar
ENV $ENVS
EXPOSE $PORTS
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/gpufleet-healthcheck", "${HEALTH// /\", \"}"]
USER $APP_UID:$APP_UID
# The heap follows the container's memory limit; no fixed -Xmx. No perf data file: the root
# file system may be read-only.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData", "-jar", "/opt/gpufleet/$program.jar"]
CMD ["run"]
LABEL org.opencontainers.image.title="gpufleet-$program" \\
      org.opencontainers.image.version="$version" \\
      org.opencontainers.image.revision="$revision" \\
      org.opencontainers.image.source="$source" \\
      org.gpufleet.jar-sha256="$sum" \\
      org.gpufleet.base-id="$base_id"
EOF
  # The recipe (this Dockerfile: jar, base, flags, labels) decides; the same recipe is not built twice.
  local recipe
  recipe=$(sha256sum "$ctx/Dockerfile" | cut -d' ' -f1)
  if [[ "$(label "$tag" org.gpufleet.recipe-sha256)" == "$recipe" ]]; then
    rm -rf "$ctx"; log "$tag already holds this recipe"; echo "$tag"; return
  fi
  echo "LABEL org.gpufleet.recipe-sha256=\"$recipe\"" >>"$ctx/Dockerfile"
  cp "$jar" "$ctx/app.jar"
  log "building $tag from $jar"
  # Its output only on failure: the legacy builder warns about itself on every build.
  docker build -q -t "$tag" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; rm -rf "$ctx"; die "docker build $tag failed"; }
  rm -rf "$ctx"
  echo "$tag"
}

push() {
  local tag=$1 cfg
  docker tag "$tag" "$REGISTRY/$tag"
  # A throwaway client configuration: the machine's own docker login stays as it was.
  cfg=$(mktemp -d)
  printf '%s' "$REGISTRY_PASSWORD" | docker --config "$cfg" login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null 2>&1 ||
    { rm -rf "$cfg"; die "docker login to $REGISTRY failed (bash dev/services.sh registry)"; }
  docker --config "$cfg" push "$REGISTRY/$tag" >/dev/null || { rm -rf "$cfg"; die "push of $REGISTRY/$tag failed"; }
  rm -rf "$cfg"
  log "pushed $REGISTRY/$tag"
}

main() {
  docker info >/dev/null 2>&1 || die "docker is not running (bash dev/services.sh docker)"
  local cmd=${1:-all}; shift || true
  local programs=("$@") p
  ((${#programs[@]})) || programs=("${PROGRAMS[@]}")
  case $cmd in
    base) build_base ;;
    build) for p in "${programs[@]}"; do build_program "$p" >/dev/null; done ;;
    push) for p in "${programs[@]}"; do push "$(build_program "$p")"; done ;;
    all)
      build_base
      for p in "${PROGRAMS[@]}"; do
        if jar_of "$p" >/dev/null; then push "$(build_program "$p")"; else log "no $p jar yet: its image comes with the Maven build"; fi
      done ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (see --help)" ;;
  esac
}

main "$@"
