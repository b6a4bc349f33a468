#!/usr/bin/env bash
# `make docker-test`: build the Docker image and drive it as a user would.
#
# Uses podman (no Docker engine runs here; the Dockerfile is plain Docker, podman builds
# it the same). Steps:
#   1. podman (and runc) installed when missing (as root, from Debian).
#   2. The base images: this machine cannot pull from a container registry, so local
#      stand-ins are built from Debian packages and cached (scripts/docker/standins.sh
#      says how they differ from the official ones).
#   3. podman build -t sessionstory:test .
#   4. The README's `docker run` line, with test values: a fresh named volume on /data,
#      the port published on 127.0.0.1 only, the first admin from the environment.
#   5. scripts/docker/smoke.py: /healthz; `sessionstory project create` and `token
#      create` through `podman exec` (the running server's admin socket); one ingest
#      batch; the session list and its events back through the API; the JS bundles and
#      the login page served; the container's HEALTHCHECK reaching "healthy".
#   6. Stop (SIGTERM), start a new container on the same volume: the session is still
#      there.
#   7. Start it with no network at all: it still comes up healthy (no run-time fetches).
# The container and volume are removed at the end; the images stay cached.
#
# Knobs: SESSIONSTORY_TEST_IMAGE (default sessionstory:test), DOCKER_TEST_BUILD_NETWORK
# (podman build --network; default: podman's own bridge, see below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
STARTED=$SECONDS

say() { printf '==> %s\n' "$*"; }
fail() {
	printf 'docker-test: FAILED: %s\n' "$*" >&2
	exit 1
}
apt_install() {
	[[ $(id -u) == 0 ]] || fail "$* missing, and installing it needs root"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

IMAGE=${SESSIONSTORY_TEST_IMAGE:-sessionstory:test}
BUILD_NETWORK=${DOCKER_TEST_BUILD_NETWORK:-}
WORK=$(mktemp -d -t sessionstory-docker-test.XXXXXX)
CTR=sessionstory-test-$$
VOLUME=sessionstory-test-data-$$
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=docker-test-$$-$RANDOM$RANDOM

# shellcheck source=scripts/docker/standins.sh
source scripts/docker/standins.sh

cleanup() {
	local status=$?
	if ((status != 0)) && podman container exists "$CTR" 2>/dev/null; then
		echo "--- last lines of the container's log ---" >&2
		podman logs --tail 40 "$CTR" >&2 2>&1 || true
	fi
	podman rm --force --time 0 "$CTR" >/dev/null 2>&1 || true
	podman volume rm --force "$VOLUME" >/dev/null 2>&1 || true
	if grep -q " $WORK" /proc/mounts; then
		echo "docker-test: something is still mounted under $WORK; left in place" >&2
	else
		rm -rf "$WORK"
	fi
	if ((status == 0)); then
		say "docker-test passed in $((SECONDS - STARTED))s"
	else
		echo "docker-test: FAILED after $((SECONDS - STARTED))s" >&2
	fi
}
trap cleanup EXIT

# --- 1. podman ---------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	say "installing podman and runc (Debian packages)"
	apt_install podman runc
fi
# This machine's containers need runc (not crun), no default ulimits, and cgroupfs
# (no systemd here). Our own containers.conf, so /etc is left alone.
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
export CONTAINERS_CONF=$WORK/containers.conf
say "podman $(podman version --format '{{.Client.Version}}'), runtime runc, cgroupfs"

# --- 2. base images ----------------------------------------------------------------
ensure_base_images

# --- 3. build ----------------------------------------------------------------------
# pip and npm inside the build fetch from PyPI and the npm registry. podman's default
# build network (a bridge with NAT through the host) reaches them here, given the
# stand-ins trust the host's CAs; where it cannot (no bridge/NAT), set
# DOCKER_TEST_BUILD_NETWORK=host to let the build's RUN steps use the host's network.
# --format docker: the OCI image format has no HEALTHCHECK, and podman would drop it.
# --pull=never: the base images are local (above); never ask a registry.
build_args=(--runtime runc --format docker --pull=never --tag "$IMAGE")
[[ -n $BUILD_NETWORK ]] && build_args+=(--network "$BUILD_NETWORK")
# Under make, the Makefile's CMAKE_ARGS (llama.cpp's portable CPU flags) reach the build
# too, so that the image and `make run` compile llama.cpp alike.
[[ -n ${CMAKE_ARGS:-} ]] && build_args+=(--build-arg "CMAKE_ARGS=$CMAKE_ARGS")
old_image=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
say "podman build ${build_args[*]} ."
build_started=$SECONDS
# Its steps are shown as they start; the whole log only when it fails.
if ! podman build "${build_args[@]}" . 2>&1 | tee "$WORK/build.log" |
	{ grep --line-buffered -E '^(\[[0-9]+/[0-9]+\] )?STEP|^bundles installed' | sed -u 's/^/    /' || true; }; then
	tail -n 40 "$WORK/build.log" >&2
	fail "podman build failed (last lines above)"
fi
new_image=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $old_image && $old_image != "$new_image" ]]; then
	podman rmi "$old_image" >/dev/null 2>&1 || true # the previous build, now untagged
fi
# Drop the dead ends of earlier builds (stage results this build no longer uses, layers
# on a replaced stand-in), so that the store does not grow with every dependency change;
# the images this build made or reused (`--> ID` in its log) stay as its cache.
used=" $(grep -oE '^--> [0-9a-f]{11}' "$WORK/build.log" | cut -c5- | tr '\n' ' ') "
for id in $(podman images --filter dangling=true --format '{{.ID}}'); do
	[[ $used == *" ${id:0:11} "* ]] || podman rmi "$id" >/dev/null 2>&1 || true
done
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "built $IMAGE in $((SECONDS - build_started))s: $((size / 1000000)) MB"
[[ $(podman image inspect --format '{{.Config.User}}' "$IMAGE") == 10001:10001 ]] ||
	fail "the image does not run as uid 10001"

# --- 4. run, as the README says ----------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_container() {
	# The README's line: docker run -d --name sessionstory -p 8000:8000 \
	#   -v sessionstory-data:/data -e SESSIONSTORY_ADMIN_EMAIL=admin@example.com \
	#   -e SESSIONSTORY_ADMIN_PASSWORD=change-me sessionstory
	# with this test's values (its own name, loopback only, a fresh volume, a random
	# password, the image it built) and podman's --runtime runc.
	say "podman run -d --runtime runc --name $CTR -p 127.0.0.1:$PORT:8000 -v $VOLUME:/data" \
		"-e SESSIONSTORY_ADMIN_EMAIL=$ADMIN_EMAIL -e SESSIONSTORY_ADMIN_PASSWORD=… $IMAGE"
	# Without systemd podman cannot schedule the HEALTHCHECK timer and says so on stderr;
	# smoke.py runs the check itself (`podman healthcheck run`), so that noise is filtered.
	podman run -d --runtime runc --name "$CTR" -p "127.0.0.1:$PORT:8000" -v "$VOLUME:/data" \
		-e "SESSIONSTORY_ADMIN_EMAIL=$ADMIN_EMAIL" -e "SESSIONSTORY_ADMIN_PASSWORD=$ADMIN_PASSWORD" \
		"$IMAGE" >"$WORK/run.out" 2>"$WORK/run.err" ||
		{
			cat "$WORK/run.err" >&2
			fail "podman run failed"
		}
	grep -v -e 'systemd connection' "$WORK/run.err" >&2 || true
}
run_container

# --- 5. drive it -------------------------------------------------------------------
python3 scripts/docker/smoke.py drive --base-url "http://127.0.0.1:$PORT" --container "$CTR" \
	--email "$ADMIN_EMAIL" --state "$WORK/state.json"

# --- 6. the data outlives the container --------------------------------------------
say "podman stop $CTR (SIGTERM), then a new container on the same volume"
stop_started=$SECONDS
podman stop --time 30 "$CTR" >/dev/null 2>"$WORK/stop.err" || { cat "$WORK/stop.err" >&2; fail "podman stop failed"; }
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$CTR")
say "  stopped in $((SECONDS - stop_started))s, exit code $exit_code"
[[ $exit_code == 0 ]] || fail "the server exited with $exit_code on SIGTERM (a clean stop exits 0)"
podman rm "$CTR" >/dev/null 2>&1
run_container
python3 scripts/docker/smoke.py persisted --base-url "http://127.0.0.1:$PORT" --container "$CTR" \
	--state "$WORK/state.json"

# --- 7. nothing is fetched at run time ---------------------------------------------
say "podman run --network none (no network but loopback): the server starts and is healthy"
podman rm --force --time 30 "$CTR" >/dev/null 2>&1
podman run -d --runtime runc --network none --name "$CTR" -v "$VOLUME:/data" "$IMAGE" \
	>"$WORK/run.out" 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; fail "podman run --network none failed"; }
python3 scripts/docker/smoke.py healthy --container "$CTR"
