#!/usr/bin/env bash
# Installs what the deployment tests need: nginx (tests/proxy_nginx.rs runs assets/deploy/nginx.conf
# in front of a plain tandem-server) and systemd-analyze (tests/deploy.rs verifies the systemd
# unit in assets/deploy/). Idempotent: nothing is installed when the commands are there. Neither
# service is started: the tests run nginx themselves, and systemd-analyze needs no running systemd.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib.sh"

# Debian installs nginx in /usr/sbin, which a non-root PATH may lack.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx (apt)"
    apt_install nginx
fi
echo "setup-deploy: $( (command -v nginx >/dev/null && nginx -v || /usr/sbin/nginx -v) 2>&1)"

ensure_command systemd-analyze systemd
echo "setup-deploy: $(systemd-analyze --version | head -1)"
