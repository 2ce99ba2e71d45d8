# Helpers shared by the scripts in scripts/ (source it: `. "$(dirname "$0")/lib.sh"`).

# The workspace's target directory: $CARGO_TARGET_DIR when set, else what cargo itself uses
# (target/ beside Cargo.toml, or a build.target-dir from a cargo config), so no script assumes
# a path of one machine.
target_dir() {
    if [ -n "${CARGO_TARGET_DIR:-}" ]; then
        # Absolute, so it stays right after a `cd`; no cargo call, so timed loops can use it.
        realpath -m -- "$CARGO_TARGET_DIR"
        return
    fi
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" \
        | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

# Whether this run is CI (`CI=true` or `CI=1`): there a missing tool or service is an error,
# the same policy as the tests' tandem_require::require_or_skip.
is_ci() {
    case "${CI:-}" in
        true | TRUE | True | 1) return 0 ;;
        *) return 1 ;;
    esac
}

# apt_install PACKAGE...: installs Debian packages (with sudo when not root); one
# `apt-get update` per script run.
apt_install() {
    local sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    if [ -z "${TANDEM_APT_UPDATED:-}" ]; then
        "${sudo_cmd[@]}" apt-get update -qq
        TANDEM_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_command COMMAND PACKAGE...: installs PACKAGE... when COMMAND is not on the PATH.
ensure_command() {
    local command="$1"
    shift
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "installing $* (apt) for $command"
        apt_install "$@"
    fi
}
