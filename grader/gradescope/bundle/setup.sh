#!/usr/bin/env bash
# setup.sh: Gradescope runs this once, as root, in /autograder/source while it builds
# the autograder image (the Dockerfile at the repository root runs it the same way).
#
# It installs exactly what run_autograder needs and nothing student-related:
#   1. system: a Python 3.11 interpreter with venv (apt on Ubuntu, dnf on Fedora/Rocky),
#      unless one is already there.  The system python3 is left alone: Gradescope's
#      harness needs it.
#   2. the unprivileged user that runs student code (w2vsandbox, the name grader/sandbox/uid_pool.py uses).
#   3. a virtualenv (default /opt/w2v-grader/venv, outside /autograder/source so that the
#      source can be made unreadable to student code) with the pinned dependencies of
#      requirements.txt and the grader package itself (pip install --no-deps from this folder).
#
# Usage: setup.sh [--python-only]
#   --python-only   only step 3 (used by the test suite to check the install without Docker)
# Environment (all optional):
#   W2V_VENV          where to create the virtualenv       (default /opt/w2v-grader/venv)
#   W2V_PYTHON        interpreter that creates the venv    (default python3.11)
#   W2V_SANDBOX_USER  user for student code                (default w2vsandbox)
#   W2V_PIP_ARGS      extra pip arguments, e.g. "--find-links /wheels --no-index"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W2V_VENV="${W2V_VENV:-/opt/w2v-grader/venv}"
W2V_PYTHON="${W2V_PYTHON:-python3.11}"
W2V_SANDBOX_USER="${W2V_SANDBOX_USER:-w2vsandbox}"
read -r -a PIP_EXTRA <<< "${W2V_PIP_ARGS:-}"

log() { printf 'setup.sh: %s\n' "$*"; }

python_ok() {
    command -v "$W2V_PYTHON" >/dev/null 2>&1 &&
        "$W2V_PYTHON" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null
}

install_system_python() {
    if python_ok; then
        log "using $("$W2V_PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
        return
    fi
    if command -v apt-get >/dev/null 2>&1; then
        log "installing python3.11 with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates
        rm -rf /var/lib/apt/lists/*
    elif command -v dnf >/dev/null 2>&1; then
        log "installing python3.11 with dnf"
        dnf install -y python3.11
        dnf clean all
    fi
    if ! python_ok; then
        log "error: no Python >= 3.11 with venv found as '$W2V_PYTHON' (set W2V_PYTHON)"
        exit 1
    fi
}

create_sandbox_user() {
    # The sandbox leases one user per concurrent run from a pool: w2vsandbox, w2vsandbox1..15.
    local name
    for name in "$W2V_SANDBOX_USER" "$W2V_SANDBOX_USER"{1..15}; do
        if id -u "$name" >/dev/null 2>&1; then
            continue
        fi
        log "creating user $name"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$name"
    done
}

warm_cache() {
    # Expected values of every test input, computed once here instead of in every submission's
    # run.  Root-only: the cache holds hidden tests' expected values.
    local cache="${W2V_CACHE_DIR:-/opt/w2v-grader/cache}"
    mkdir -p "$cache" && chmod 700 "$cache"
    if W2V_CACHE_DIR="$cache" "$W2V_VENV/bin/w2v-grader" warm-cache --rubric "$HERE/rubric.toml"; then
        log "expected-value cache warmed in $cache"
    else
        log "warning: could not warm the cache; the first run of each container computes it"
    fi
}

install_python_packages() {
    if [ -x "$W2V_VENV/bin/python" ]; then
        log "reusing virtualenv $W2V_VENV"
    else
        log "creating virtualenv $W2V_VENV"
        "$W2V_PYTHON" -m venv "$W2V_VENV"
    fi
    local pip=("$W2V_VENV/bin/python" -m pip --disable-pip-version-check --no-input)
    "${pip[@]}" install --no-cache-dir "${PIP_EXTRA[@]}" --requirement "$HERE/requirements.txt"
    "${pip[@]}" install --no-cache-dir --no-deps --no-build-isolation "${PIP_EXTRA[@]}" "$HERE"
    "${pip[@]}" check
    # Everyone may run the interpreter and read numpy/scipy (student code runs with them);
    # the reference solution inside it is made unreadable by run_autograder before each run.
    chmod -R go-w "$W2V_VENV"
    chmod -R a+rX "$W2V_VENV"
    "$W2V_VENV/bin/w2v-grader" --version
}

case "${1:-}" in
    --python-only)
        install_python_packages
        ;;
    "")
        install_system_python
        create_sandbox_user
        install_python_packages
        warm_cache
        ;;
    *)
        log "unknown argument: $1 (usage: setup.sh [--python-only])"
        exit 2
        ;;
esac
log "done"
