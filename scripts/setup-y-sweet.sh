#!/usr/bin/env bash
# Installs y-sweet 0.9.1 (the Rust Yjs server on yrs that scripts/bench-server.sh compares
# tandem-server against) into the project's tools directory, $TANDEM_TOOLS_DIR or
# ~/.cache/tandem-tools (outside the checkout, so every checkout shares one build):
# `cargo install --locked`, since without the lock file 0.9.1 does
# not compile against today's crates. Idempotent: when cargo's install list of that root holds the
# pinned version, nothing is built. The build (about 6 minutes on 2 busy cores) runs under `nice`.
set -euo pipefail

version=0.9.1
tools="${TANDEM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem-tools}"
bin="$tools/bin/y-sweet"

installed() { [[ -x $bin ]] && cargo install --list --root "$tools" | grep -qx "y-sweet v$version:"; }

if installed; then
    echo "setup-y-sweet: $bin $version is installed"
    exit 0
fi

echo "setup-y-sweet: building y-sweet $version into $tools (long; runs niced)"
nice -n 19 cargo install y-sweet --version "$version" --locked --root "$tools" -j 1
installed
echo "setup-y-sweet: installed $bin"
