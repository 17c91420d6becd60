#!/usr/bin/env bash
# Installs what kiln needs to build and test on Debian 12, from Debian's archive and, for the
# browser tests, npm's registry. Idempotent: installs only what is missing, and runs
# `apt-get update` at most once, only when something is missing. Run as root.
set -euo pipefail

packages=(
	# build
	gcc g++ make cmake pkg-config clang libclang-rt-14-dev llvm
	# libraries (DESIGN.md §3)
	zlib1g-dev libzstd-dev liblz4-dev libelf-dev libdw-dev libcurl4-openssl-dev
	libmicrohttpd-dev libsqlite3-dev libpq-dev
	# C++ demangling in src/symbolize: libiberty cp-demangle, linking exception (docs/symbols.md)
	libiberty-dev
	# test peers: Go's pprof, a real PostgreSQL, a real browser, scripting
	golang-go postgresql python3 curl procps chromium chromium-driver
	# benchmarks
	hyperfine time
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# Node.js may come from elsewhere on a developer machine; install Debian's only if absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run 'make deps' as root (or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Browser tests: playwright-core from npm, driving Debian's chromium (no browser download).
if [ -f tests/browser/package.json ]; then
	if [ ! -d tests/browser/node_modules/playwright-core ] ||
		[ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
		echo "deps: npm ci in tests/browser"
		(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
echo "deps: all present"
