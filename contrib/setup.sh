#!/usr/bin/env bash
# setup.sh: installs the Debian packages Fanfare needs (only the missing
# ones) and builds it in the source tree.  Safe to re-run: each step runs
# only when needed.  Never leaves Debian's own redis-server or nginx
# running.
#
#   contrib/setup.sh            packages, then autoreconf/configure/make
#   FF_NO_BUILD=1 contrib/setup.sh   packages only
#   FF_TEST_DEPS=1 contrib/setup.sh  also what the tests need (test.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PKGS=(build-essential autoconf automake libtool pkg-config
      libevent-dev libhiredis-dev libesmtp-dev libmaxminddb-dev
      libcriterion-dev libjansson-dev libssl-dev libidn2-dev libicu-dev
      libcurl4-openssl-dev
      redis-server redis-tools curl wrk python3 python3-aiosmtpd python3-dkim
      libmaxmind-db-writer-perl)
# The marketer's logins: argon2id password hashes (libsodium23 at run
# time, which libsodium-dev brings).
PKGS+=(libsodium-dev)
# What only the test suite needs (contrib/test.sh sets FF_TEST_DEPS=1), so
# the main job does not put a browser and an nginx on the machine.
TEST_DEPS=${FF_TEST_DEPS:-0}
if ((TEST_DEPS)); then
	# tests/integration/test_daemon.py: the man pages' lint, the systemd
	# unit's verify, and nginx in front of the tracking listener;
	# test_browser.py: the dashboard in Chromium.
	PKGS+=(mandoc groff-base man-db systemd nginx chromium)
	# test_domains.py: a real DNS server on loopback serving the records
	# of POST /v1/domains (dnsmasq-base: the binary, no system service).
	PKGS+=(dnsmasq-base)
	# make fuzz: clang's libFuzzer and sanitizer runtimes (Debian ships
	# them in libclang-rt-14-dev, only recommended by clang).  make
	# check itself replays the corpora with the ordinary compiler.
	PKGS+=(clang libclang-rt-14-dev)
	# test_bounces.py: a private Postfix instance writes real DSNs.
	# Debian's own instance stays unconfigured ("No configuration",
	# preseeded below) and is not started (policy-rc.d).
	PKGS+=(postfix)
	# The browser test runs under node with npm's playwright-core.
	# Debian's nodejs and npm only when there is no node or npm at all: a
	# machine may have a newer Node.js of its own, whose npm Debian's npm
	# package would conflict with.
	command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
	command -v npm >/dev/null 2>&1 || PKGS+=(npm)
fi
# configure.ac uses AX_PTHREAD: from m4/ when vendored, else from
# autoconf-archive (autoreconf -i then copies it into m4/).
[[ -e m4/ax_pthread.m4 ]] || PKGS+=(autoconf-archive)

installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done

if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}" >&2
	SUDO=()
	[[ $(id -u) -eq 0 ]] || SUDO=(sudo)
	# Keep Debian from starting its redis service (port 6379) during the
	# install: invoke-rc.d honours a policy-rc.d that exits 101.
	made_policy=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# temporary, from fanfare contrib/setup.sh\nexit 101\n' |
		    "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	trap '[[ $made_policy == 1 ]] && "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
	"${SUDO[@]}" apt-get update -qq
	if [[ " ${missing[*]} " == *" postfix "* ]]; then
		echo "postfix postfix/main_mailer_type select No configuration" |
		    "${SUDO[@]}" debconf-set-selections
	fi
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}"
	if [[ $made_policy == 1 ]]; then
		"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
		made_policy=0
	fi
	trap - EXIT
	# Should a redis service have started anyway, stop it by its own pid.
	f=/run/redis/redis-server.pid
	if [[ -s $f ]]; then
		pid=$(tr -dc '0-9' <"$f")
		if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server ]]; then
			echo "setup: stopping Debian's redis-server (pid $pid)" >&2
			"${SUDO[@]}" kill -TERM "$pid" || true
		fi
	fi
	# The same for Debian's nginx (port 80); the tests run their own.
	f=/run/nginx.pid
	if [[ -s $f ]]; then
		pid=$(tr -dc '0-9' <"$f")
		if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == nginx ]]; then
			echo "setup: stopping Debian's nginx (pid $pid)" >&2
			"${SUDO[@]}" kill -TERM "$pid" || true
		fi
	fi
fi

# playwright-core at the version of tests/browser/package-lock.json (the
# library only: it downloads no browser; the test uses /usr/bin/chromium).
if ((TEST_DEPS)) &&
   [[ ! -f tests/browser/node_modules/playwright-core/package.json ||
      tests/browser/node_modules/.package-lock.json -ot tests/browser/package-lock.json ]]; then
	echo "setup: npm ci in tests/browser" >&2
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

[[ ${FF_NO_BUILD:-0} == 1 ]] && exit 0

if [[ ! -x configure || configure -ot configure.ac || configure -ot Makefile.am ]]; then
	echo "setup: autoreconf -fi" >&2
	autoreconf -fi
fi
if [[ ! -f Makefile ]]; then
	echo "setup: ./configure" >&2
	./configure
fi
echo "setup: make -j2" >&2
make -j2
