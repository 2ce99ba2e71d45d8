#!/usr/bin/env bash
# Installs HAProxy (Debian's package), the load balancer of the cluster test (tests/cluster_haproxy.rs:
# three tandem-servers on one PostgreSQL behind assets/deploy/haproxy.cfg) and of the cluster
# benchmark in scripts/bench-server.sh. Idempotent; no service is started (the test and the
# benchmark run haproxy themselves).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib.sh"

# Debian installs haproxy in /usr/sbin, which a non-root PATH may lack.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    echo "installing haproxy (apt)"
    apt_install haproxy
fi
echo "setup-haproxy: $( (command -v haproxy >/dev/null && haproxy -v || /usr/sbin/haproxy -v) 2>&1 | head -1)"
