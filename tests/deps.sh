#!/bin/sh
# Installs what cflame's tests need, on Debian or Ubuntu, when run as root:
# cmake, make, a C compiler, pkg-config and cmocka (libcmocka-dev), plus a
# C++ compiler for the C++ tests (optional: without one they are skipped).
# Not root, or not Debian/Ubuntu: prints exactly what to install and exits 1.
# Nothing missing: says so and exits 0. Then run the README's test command.
#
#   tests/deps.sh            install what is missing (root), or say what
#   tests/deps.sh --check    only say what is missing (exit 1 if anything)
set -u

check_only=0
case ${1:-} in
--check) check_only=1 ;;
'') ;;
*)
  echo "usage: $0 [--check]" >&2
  exit 2
  ;;
esac

missing=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd cmake || missing="$missing cmake"
have_cmd make || missing="$missing make"
have_cmd cc || have_cmd gcc || have_cmd clang || missing="$missing gcc"
have_cmd c++ || have_cmd g++ || have_cmd clang++ || missing="$missing g++"
have_cmd pkg-config || missing="$missing pkg-config"
# cmocka: its pkg-config file, or Debian's package when dpkg can tell.
if ! { have_cmd pkg-config && pkg-config --exists cmocka; } &&
  ! { have_cmd dpkg && dpkg -s libcmocka-dev >/dev/null 2>&1; }; then
  missing="$missing libcmocka-dev"
fi

if [ -z "$missing" ]; then
  echo "deps.sh: everything the tests need is installed"
  exit 0
fi
echo "deps.sh: missing:$missing"
if [ "$check_only" = 1 ]; then
  exit 1
fi
if ! have_cmd apt-get; then
  echo "deps.sh: not Debian/Ubuntu; install with your package manager:" \
    "cmake, make, a C11 compiler, a C++ compiler (optional), pkg-config," \
    "cmocka (headers and library, e.g. cmocka-devel or libcmocka-dev)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: not root; run:  sudo apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# $missing is a list of package names: split it into words.
# shellcheck disable=SC2086
if ! apt-get update || ! apt-get install -y --no-install-recommends $missing
then
  echo "deps.sh: apt-get failed; install by hand:$missing" >&2
  exit 1
fi
echo "deps.sh: installed:$missing"
