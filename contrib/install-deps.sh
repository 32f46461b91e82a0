#!/bin/sh
# install-deps.sh — installs every package weir needs to build, test and run
# on Debian 12, with apt-get. Safe to run twice; uses sudo when not root.
set -eu

packages="
  build-essential g++ autoconf automake libtool pkg-config
  flex bison
  libevent-dev librdkafka-dev libhiredis-dev libmicrohttpd-dev
  libcurl4-openssl-dev libyajl-dev libsimdjson-dev libssl-dev
  libcriterion-dev curl
  redis-server redis-tools
  clang libclang-rt-14-dev
  git ca-certificates
"

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi

missing=
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages already installed"
  exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
