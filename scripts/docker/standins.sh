# shellcheck shell=bash
# Sourced by scripts/docker-test.sh: local stand-ins for the Dockerfile's base images.
#
# This machine reaches Debian's mirror, PyPI and npm, but no container registry, so
# `FROM python:3.11-slim-bookworm` and `FROM node:20-bookworm-slim` cannot be pulled.
# Instead we debootstrap a minimal Debian bookworm (the same release those images are
# built on) from the Debian mirror this machine's apt is configured with, add what the
# official image has, and `podman import` it under the official name
# (docker.io/library/…), which is what `FROM` resolves to. Built once, then reused:
# an image that already has the name (a stand-in, or a real image pulled elsewhere)
# is left alone.
#
# How a stand-in differs from the official image:
#   python: Debian's python3 (3.11.2), pip and venv instead of a python.org build in
#     /usr/local; /usr/local/bin/{python,python3,python3.11,pip,pip3,pip3.11} point at
#     them, and Debian's EXTERNALLY-MANAGED marker is removed so `pip install` works
#     as in the official image.
#   node: Debian bookworm's own nodejs is 18.20 with npm 9.2, while node:20 (and our
#     README) mean Node 20, so the stand-in carries this machine's Node 20 binary and
#     its npm (and corepack) in /usr/local, laid out as in the official image.
#   both: they trust the CA certificates this machine added locally
#     (/usr/local/share/ca-certificates, e.g. for a TLS-inspecting egress proxy), so
#     that pip and npm inside `podman build` reach their registries as the host does.
#     apt and dpkg are set up as in the official Debian images (no package caches, no
#     docs); apt's one source is this machine's mirror for bookworm (no
#     bookworm-updates or -security), and nothing is newer than what debootstrap gets.

STANDIN_LABEL=io.sessionstory.stand-in
# The label's value is this recipe's digest (its code, not its comments): a stand-in
# made by an older recipe is remade.
STANDIN_RECIPE=$(grep -v -E '^[[:space:]]*#' "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
PYTHON_BASE=docker.io/library/python:3.11-slim-bookworm
NODE_BASE=docker.io/library/node:20-bookworm-slim
SLIM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# The first Debian mirror apt is configured with for bookworm (one-line or deb822).
debian_mirror() {
	python3 - <<'EOF'
import glob, re, sys

def one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m and m.group(2) == "bookworm":
            yield m.group(1)

def deb822(path):
    for stanza in re.split(r"\n\s*\n", open(path, encoding="utf-8", errors="replace").read()):
        fields = {}
        for line in stanza.splitlines():
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m:
                fields[m.group(1).lower()] = m.group(2).split()
        if "deb" in fields.get("types", []) and "bookworm" in fields.get("suites", []) \
                and fields.get("enabled", ["yes"])[0] != "no":
            yield from fields.get("uris", [])

files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
sources = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
for path in files:
    try:
        for uri in one_line(path):
            print(uri); sys.exit(0)
    except FileNotFoundError:
        pass
for path in sources:
    for uri in deb822(path):
        print(uri); sys.exit(0)
sys.exit("no Debian bookworm mirror in /etc/apt/sources.list or sources.list.d")
EOF
}

# Every path written or deleted below is inside a rootfs under our own work folder.
standin_guard() {
	[[ -n ${STANDIN_WORK:-} && $1 == "$STANDIN_WORK"/?* ]] || fail "refusing to treat $1 as a stand-in rootfs"
}

# debootstrap ROOTFS PACKAGES: a minimal bookworm, sharing one package cache.
standin_rootfs() {
	local root=$1 packages=$2 log=$STANDIN_WORK/debootstrap-${1##*/}.log
	standin_guard "$root"
	if ! debootstrap --variant=minbase --cache-dir="$STANDIN_WORK/debs" --include="$packages" \
		bookworm "$root" "$STANDIN_MIRROR" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		fail "debootstrap of $root failed (log above)"
	fi
	# apt and dpkg set up as in the official Debian images (debuerreotype's minimizing and
	# slim config): no package caches or docs left behind by an `apt-get install`.
	printf '%s\n' \
		'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
		'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
		'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' >"$root/etc/apt/apt.conf.d/docker-clean"
	echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
	echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
	echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
	printf '%s\n' 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
	printf 'path-exclude %s\n' /usr/share/doc/\* /usr/share/man/\* /usr/share/groff/\* /usr/share/info/\* \
		/usr/share/lintian/\* /usr/share/linda/\* /usr/share/locale/\* >"$root/etc/dpkg/dpkg.cfg.d/docker"
	printf 'path-include %s\n' /usr/share/doc/\*/copyright /usr/share/locale/locale.alias \
		>>"$root/etc/dpkg/dpkg.cfg.d/docker"
	# Trust what this machine trusts beyond Debian's bundle (see the top of this file).
	if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
		cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
		chroot "$root" update-ca-certificates >"$log.ca" 2>&1 ||
			{ cat "$log.ca" >&2; fail "update-ca-certificates failed in $root"; }
	fi
}

# Slim it down as the official -slim images are, and import it under NAME.
standin_import() {
	local root=$1 name=$2
	shift 2
	standin_guard "$root"
	find "$root/usr/share/doc" ! -type d ! -name copyright -delete
	find "$root/usr/share/locale" -mindepth 1 ! -type d ! -name locale.alias -delete
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/* \
		"$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
		"$root"/var/log/*.log "$root"/var/log/apt/* "$root"/etc/resolv.conf "$root"/etc/hostname
	tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
		podman import --quiet --message "stand-in for $name, debootstrapped from $STANDIN_MIRROR" \
			--change "LABEL $STANDIN_LABEL=$STANDIN_RECIPE" --change "ENV PATH=$SLIM_PATH" \
			--change "ENV LANG=C.UTF-8" "$@" - "$name" >/dev/null
}

standin_python() {
	local root=$STANDIN_WORK/python
	standin_rootfs "$root" ca-certificates,netbase,tzdata,python3,python3-venv,python3-pip
	rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
	local tool
	for tool in python3.11 python3 python pip3.11 pip3 pip; do
		if [[ $tool == python* ]]; then
			ln -sf /usr/bin/python3.11 "$root/usr/local/bin/$tool"
		else
			ln -sf /usr/bin/pip3 "$root/usr/local/bin/$tool"
		fi
	done
	local version
	version=$(chroot "$root" python3 -c 'import platform; print(platform.python_version())')
	standin_import "$root" "$PYTHON_BASE" --change "ENV PYTHON_VERSION=$version" --change 'CMD ["python3"]'
}

standin_node() {
	local root=$STANDIN_WORK/node node npm corepack
	node=$(readlink -f "$(command -v node)") || fail "no node on this machine to copy into the node stand-in"
	"$node" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
		fail "this machine's node ($("$node" --version)) is older than 20"
	npm=$(readlink -f "$(command -v npm)") || fail "no npm on this machine to copy into the node stand-in"
	npm=${npm%/bin/npm-cli.js}
	[[ -f $npm/package.json ]] || fail "cannot find npm's folder (from $(command -v npm))"
	standin_rootfs "$root" ca-certificates
	mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
	cp "$node" "$root/usr/local/bin/node"
	cp -a "$npm" "$root/usr/local/lib/node_modules/npm"
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
	corepack=$(dirname "$npm")/corepack
	if [[ -f $corepack/dist/corepack.js ]]; then
		cp -a "$corepack" "$root/usr/local/lib/node_modules/corepack"
		ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
	fi
	chroot "$root" groupadd --gid 1000 node
	chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
	chroot "$root" /usr/local/bin/node --version >/dev/null || fail "node does not run in the stand-in"
	standin_import "$root" "$NODE_BASE" --change "ENV NODE_VERSION=$("$node" --version | tr -d v)" \
		--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" --change 'CMD ["node"]'
}

# Make sure both base images exist locally; build the missing ones.
ensure_base_images() {
	local missing=() stale=()
	local image recipe
	for image in "$PYTHON_BASE" "$NODE_BASE"; do
		if podman image exists "$image"; then
			recipe=$(podman image inspect --format "{{index .Labels \"$STANDIN_LABEL\"}}" "$image")
			if [[ $recipe == "$STANDIN_RECIPE" ]]; then
				say "base image $image: cached stand-in"
			elif [[ -n $recipe && $recipe != "<no value>" ]]; then
				say "base image $image: a stand-in from an older recipe, remade"
				missing+=("$image")
				stale+=("$(podman image inspect --format '{{.Id}}' "$image")")
			else
				say "base image $image: present (not a stand-in), used as is"
			fi
		else
			missing+=("$image")
		fi
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) == 0 ]] || fail "building stand-in base images needs root (debootstrap, chroot)"
	if ! command -v debootstrap >/dev/null; then
		say "installing debootstrap"
		apt_install debootstrap
	fi
	STANDIN_MIRROR=$(debian_mirror) || fail "cannot find this machine's Debian mirror"
	STANDIN_WORK=$WORK/standins
	mkdir -p "$STANDIN_WORK/debs"
	for image in "${missing[@]}"; do
		local started=$SECONDS
		say "building stand-in $image (debootstrap bookworm from $STANDIN_MIRROR)"
		case $image in
		"$PYTHON_BASE") standin_python ;;
		"$NODE_BASE") standin_node ;;
		esac
		say "  $image ready in $((SECONDS - started))s"
	done
	rm -rf "$STANDIN_WORK"
	for image in "${stale[@]}"; do # untagged now; in use by old builds' layers, if at all
		podman rmi "$image" >/dev/null 2>&1 || true
	done
}
