#!/usr/bin/env bash
# Prints the path of an nginx binary; installs Debian's nginx with apt when it is missing and
# this runs as root. Exits 3 with the reason on stderr when there is no nginx and none can be installed.
#
#   NGINX="$(bash deploy/ensure-nginx.sh)"
set -uo pipefail

find_nginx() {
  command -v nginx 2>/dev/null && return 0
  [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx && return 0
  return 1
}

find_nginx && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "nginx is not installed and this is not root, so it cannot be installed here (apt-get install nginx as root)" >&2
  exit 3
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is not installed and there is no apt-get to install it with" >&2
  exit 3
fi
echo "installing Debian's nginx with apt-get" >&2
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx) >/dev/null 2>&1; then
  echo "nginx is not installed and apt-get install nginx failed (no network to the Debian mirror?)" >&2
  exit 3
fi
find_nginx && exit 0
echo "apt-get installed nginx but no nginx binary is on PATH or in /usr/sbin" >&2
exit 3
