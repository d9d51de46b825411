#!/bin/sh
# Installs the load generator and the comparison proxies used by scripts/bench.
# (libnginx-mod-stream gives nginx its TCP proxy for tcp.js.) Tests never depend on these;
# the benchmarks skip whatever is missing.
set -e
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wrk haproxy nginx libnginx-mod-stream
