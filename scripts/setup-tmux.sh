#!/usr/bin/env bash
# Installs tmux (Debian's package) when it is missing: the editor's end-to-end tests drive the
# real `tandem` binary in a tmux pane. Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib.sh"

ensure_command tmux tmux
echo "setup-tmux: $(tmux -V)"
