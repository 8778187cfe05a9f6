#!/usr/bin/env bash
# install-deps.sh: makes sure the Debian packages the build needs are present. Installs
# the missing ones with apt-get when it can (root), otherwise prints the exact command.
#   scripts/install-deps.sh        what `make`, `make test` and the workbench need
#   scripts/install-deps.sh fuzz   what `make fuzz` needs in addition: clang and its
#                                  libFuzzer runtime (docs/fuzzing.md)
set -euo pipefail

mode=${1:-build}
case "$mode" in
  build|fuzz) ;;
  *) echo "usage: $0 [fuzz]" >&2; exit 2 ;;
esac

# 1 if clang links a libFuzzer program with ASan + UBSan (the runtime `make fuzz` needs).
fuzzer_links() {
  command -v clang >/dev/null 2>&1 || return 1
  local tmp rc
  tmp=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$tmp/t.c"
  clang -fsanitize=fuzzer,address,undefined "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1 && rc=0 || rc=1
  rm -rf "$tmp"
  return $rc
}

# package : file that proves it is installed (or "fuzzer-runtime": clang links a fuzzer)
if [ "$mode" = fuzz ]; then
need=(
  "clang:/usr/bin/clang"
  "libclang-rt-dev:fuzzer-runtime"
)
else
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
fi

missing=()
for entry in "${need[@]}"; do
  pkg=${entry%%:*}; file=${entry#*:}
  if [ "$file" = fuzzer-runtime ]; then
    fuzzer_links || missing+=("$pkg")
  else
    [ -e "$file" ] || missing+=("$pkg")
  fi
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
