#!/bin/sh
# Builds the addon against Debian 13's oneDNN 3.x (libdnnl-dev) unpacked into a private prefix, and runs the native
# parity tests on it. On an older system (Debian 12: glibc 2.36) oneDNN 3.7 needs a newer glibc/libstdc++ than
# the system has, so the tests run under Debian 13's own loader and C/C++ runtime, also unpacked privately.
# Nothing is installed system-wide. Usage (from the repository root): sh addon/check-onednn3.sh
set -eu
W=${TMPDIR:-/tmp}/alexnet-onednn3
ROOT=$(pwd)
mkdir -p "$W/lists/partial" "$W/cache/archives/partial" "$W/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$W/sources.list"
O="-o Dir::Etc::SourceList=$W/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$W/lists -o Dir::Cache=$W/cache"
apt-get $O update -qq
LIB=$(apt-cache $O depends libdnnl-dev | sed -n 's/^ *Depends: \(libdnnl3[.0-9]*\)$/\1/p' | head -1)
(cd "$W/debs" && apt-get $O download -qq libdnnl-dev "$LIB" libc6 libstdc++6 libgcc-s1 libgomp1)
for f in "$W"/debs/*.deb; do dpkg-deb -x "$f" "$W/root"; done
rm -rf "$W/addon" && cp -r addon "$W/addon" && rm -rf "$W/addon/build"
GYP=${npm_config_node_gyp:-$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js}
# the running Node's own headers when installed (no header download)
NODEDIR=$(dirname "$(dirname "$(command -v node)")")
[ -f "$NODEDIR/include/node/node.h" ] && ND="--nodedir=$NODEDIR" || ND=""
(cd "$W/addon" && DNNL_ROOT="$W/root/usr" NODE_PATH="$ROOT/node_modules" JOBS=2 node "$GYP" rebuild --loglevel=warn $ND)
MA=$(gcc -print-multiarch)
T="$W/root/usr/lib/$MA"
LP="$T:/usr/lib/$MA/openblas-pthread:/lib/$MA"
for conv in "" dnnl; do
  for t in parity model-fixtures determinism; do
    echo "== oneDNN 3 ($(ls "$T" | sed -n 's/^libdnnl\.so\.\([0-9.]*\)$/\1/p' | tail -1)) ALEXNET_CONV=${conv:-default}: $t"
    # the tests run in-process (node --test would spawn children under the system loader)
    ALEXNET_CONV=$conv ALEXNET_NATIVE_ADDON="$W/addon/build/Release/alexnet_native.node" \
      "$T/ld-linux-x86-64.so.2" --library-path "$LP" "$(command -v node)" --import tsx "test/backend/native/$t.test.ts" > "$W/out.txt" 2>&1 || true
    grep -E '^# (pass|fail)' "$W/out.txt" | tr '\n' ' '; echo
    grep -q '^# fail 0' "$W/out.txt" || { grep -E '^not ok|Error' "$W/out.txt" | head -5; FAILED=1; }
  done
done
[ -z "${FAILED:-}" ] || { echo "FAILED against oneDNN 3"; exit 1; }
echo "all native tests pass against oneDNN 3"
