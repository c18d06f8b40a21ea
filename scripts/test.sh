#!/usr/bin/env bash
# The one command that installs what the tests need and runs them all: Rust (fmt, clippy, every
# workspace test, the corpus conformance suites included), Python (the wheel built from source,
# pytest with the Django project, real SMTP and HTTP servers on loopback) and Node (the addon built
# from source, tsc, node:test). `.ci/run` calls exactly this.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh rust       one part: rust, python or node (several may be given)
#
# Needs: a Rust toolchain manager (rustup; the toolchain itself is pinned by rust-toolchain.toml
# and installed on first use), python3 with the venv module, Node.js >= 20.17 with npm, and the
# public corpora beside the checkout in ../shared/corpora (or $SIEM_CORPORA).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(rust python node)

say() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'scripts/test.sh: %s\n' "$*" >&2
    exit 1
}
started=$SECONDS
elapsed() { printf '(%dm%02ds)\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

# --- what the tests need ------------------------------------------------------------------------

corpora="${SIEM_CORPORA:-$root/../shared/corpora}"
[ -d "$corpora/sigma" ] || fail "the test corpora are not at $corpora: put the shared corpora beside \
the checkout (../shared/corpora) or set SIEM_CORPORA; each corpus's SOURCE.md says where it comes from"
export SIEM_CORPORA="$(cd "$corpora" && pwd)"

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    # Debian's packages, when we may install them (CI runs as root on a Debian machine).
    if need apt-get && [ "$(id -u)" = 0 ]; then
        say "installing $*"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        fail "missing $*: install it (Debian: apt-get install $*)"
    fi
}

for part in "${parts[@]}"; do
    case "$part" in
    rust)
        need cargo || fail "cargo not found: install rustup (https://rustup.rs); rust-toolchain.toml pins 1.95"
        ;;
    python)
        need cargo || fail "cargo not found: the Python extension is built from source with Rust (rustup)"
        need python3 || apt_install python3 python3-venv
        python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
        ;;
    node)
        need cargo || fail "cargo not found: the Node addon is built from source with Rust (rustup)"
        need npm || apt_install nodejs npm
        node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=17)?0:1)' ||
            fail "Node.js >= 20.17 is needed, found $(node --version)"
        ;;
    *) fail "unknown part '$part' (rust, python, node)" ;;
    esac
done

# --- the tests ----------------------------------------------------------------------------------

for part in "${parts[@]}"; do
    case "$part" in
    rust)
        say "rust: cargo fmt --check"
        cargo fmt --all --check
        say "rust: cargo clippy (warnings are errors)"
        cargo clippy --workspace --all-targets --locked -q -- -D warnings
        say "rust: cargo test --workspace (unit, property, corpus conformance, differential, CLI)"
        cargo test --workspace --locked -q
        elapsed
        ;;
    python)
        say "python: build the wheel from source, pytest (Django project, SMTP and webhook servers on loopback)"
        python/run-tests.sh
        elapsed
        ;;
    node)
        say "node: npm install (builds the addon from source), tsc, node:test"
        (cd node && npm install --no-audit --no-fund && npm test)
        elapsed
        ;;
    esac
done

say "all tests passed: ${parts[*]}"
elapsed
