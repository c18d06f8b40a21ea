#!/bin/sh
# The Python package's tests, from a clean clone: creates (or reuses) a virtual environment under
# target/, installs ./python[test] into it (pip builds the Rust extension from source with
# maturin) and runs pytest. Needs python3 (3.9+, with its venv module), a Rust toolchain
# (https://rustup.rs) and network access to PyPI; nothing is written outside target/.
#
#   python/run-tests.sh               # all tests
#   python/run-tests.sh -k django -x  # arguments go to pytest
#
# Environment: PYTHON (the interpreter to create the venv with, default python3),
# SIEM_PYTHON_VENV (the venv, default target/python-venv), CARGO_TARGET_DIR (where cargo builds,
# default target/python-build), SIEM_CORPORA (the test corpora, default ../shared/corpora beside
# the checkout; see python/tests/corpora.py).

set -eu

fail() {
    # The first line says what failed; the rest how to fix it.
    printf 'python/run-tests.sh: %s\n' "$1" >&2
    shift
    for line in "$@"; do printf '  %s\n' "$line" >&2; done
    exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
venv=${SIEM_PYTHON_VENV:-$root/target/python-venv}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/python-build}"

command -v "$python" >/dev/null 2>&1 ||
    fail "$python not found" "install Python 3.9 or newer (or set PYTHON to one)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    fail "$("$python" -V 2>&1) is too old: siem needs Python 3.9 or newer" "set PYTHON to a newer interpreter"
command -v cargo >/dev/null 2>&1 ||
    fail "cargo not found: the extension is built from source with Rust" \
        "install Rust from https://rustup.rs (the toolchain of rust-toolchain.toml is fetched by rustup)"

if [ ! -x "$venv/bin/python" ]; then
    echo "run-tests: creating $venv"
    "$python" -m venv "$venv" 2>&1 ||
        fail "could not create the virtual environment $venv with $python" \
            "on Debian/Ubuntu: apt-get install python3-venv; then remove $venv and run again"
fi
"$venv/bin/python" -m pip --version >/dev/null 2>&1 ||
    fail "the virtual environment $venv has no pip (created without ensurepip?)" \
        "on Debian/Ubuntu: apt-get install python3-venv; then remove $venv and run again"

echo "run-tests: pip install ./python[test] (builds the extension; CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
"$venv/bin/python" -m pip install --quiet "$root/python[test]" ||
    fail "pip install ./python[test] failed (see pip's output above)" \
        "a Rust compile error is printed above it; a network error means PyPI was not reachable"

# From the repository root, so that python/ (the package sources without the compiled
# extension) is not on sys.path: the tests import the installed package.
cd "$root"
echo "run-tests: pytest python/tests $*"
"$venv/bin/python" -m pytest python/tests "$@" ||
    fail "pytest failed (see the failures above)"
