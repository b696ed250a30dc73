#!/bin/sh
# Installs the npm packages the reader tests run (speedscope, pinned) into
# DIR, unless they are there already:  tests/readers/setup.sh DIR
# Exit status: 0 when everything is installed, 1 when npm is missing or the
# install failed (e.g. no network), 2 on a usage error.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1

# name@version pairs; add further readers here.
packages="speedscope@1.25.0"

installed() {
  # $1 = name, $2 = version: true if DIR holds exactly that version.
  pj="$dir/node_modules/$1/package.json"
  [ -f "$pj" ] && grep -q "\"version\": *\"$2\"" "$pj"
}

missing=
for p in $packages; do
  installed "${p%@*}" "${p##*@}" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "readers: already installed in $dir:$(printf ' %s' $packages)"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "readers: npm not found; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$dir"
echo "readers: installing$missing into $dir"
# All of them at once: npm removes packages that its last install did not
# name. Short network timeouts, so that an offline configure gives up soon.
# shellcheck disable=SC2086 # one word per package
if ! npm install --prefix "$dir" --no-audit --no-fund --prefer-offline --save-exact \
     --fetch-retries=1 --fetch-timeout=30000 $packages >&2; then
  echo "readers: npm install$missing failed (offline?)" >&2
  exit 1
fi
for p in $packages; do
  if ! installed "${p%@*}" "${p##*@}"; then
    echo "readers: $p is still missing in $dir after npm install" >&2
    exit 1
  fi
done
echo "readers: installed$missing"
