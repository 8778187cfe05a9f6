#!/usr/bin/env bash
# install-deps.sh: makes sure the Debian packages the build needs are present. Installs
# the missing ones with apt-get when it can (root), otherwise prints the exact command.
set -euo pipefail

# package : file that proves it is installed
need=(
  "libjansson-dev:/usr/include/jansson.h"
  "libcmocka-dev:/usr/include/cmocka.h"
  "libxxhash-dev:/usr/include/xxhash.h"
  "pkg-config:/usr/bin/pkg-config"
  "librocksdb-dev:/usr/include/rocksdb/c.h"
  "libleveldb-dev:/usr/include/leveldb/c.h"
  "rocksdb-tools:/usr/bin/db_bench"
  "python3-matplotlib:/usr/lib/python3/dist-packages/matplotlib/__init__.py"
  "parallel:/usr/bin/parallel"
)

missing=()
for entry in "${need[@]}"; do
  pkg=${entry%%:*}; file=${entry#*:}
  [ -e "$file" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    cmd="sudo sh -c '$cmd'"
  else
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run as root:  $cmd" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}" >&2
if ! (export DEBIAN_FRONTEND=noninteractive; eval "$cmd") >&2; then
  echo "install-deps: installation failed; run by hand:  $cmd" >&2
  exit 1
fi
