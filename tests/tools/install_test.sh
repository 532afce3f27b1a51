#!/usr/bin/env bash
# install: `meson install` gives a prefix that works wherever it is put, with no
# LD_LIBRARY_PATH. From the build under test it installs into a temporary
# prefix, moves the prefix elsewhere, then proves that
#   - the installed libraries carry RUNPATH $ORIGIN, and greenrun from the moved
#     prefix preloads the moved prefix's shim (by absolute path), which loads the
#     moved prefix's libgreen.so.0: /bin/true runs, /proc/self/maps of a program
#     shows both (and neither libgreen_tls nor OpenSSL), and curl fetches a page from a loopback server under it;
#   - examples/hello.cpp builds out of tree against the moved prefix three ways
#     (CMake's find_package(green CONFIG), pkg-config with a plain compiler
#     command, meson's dependency('green')) and runs; green::preload stays linked.
# (A build directory configured before pkgconfig.relocatable became the default
# has green.pc files that name the configured prefix: there the prefix is not
# moved, and pkg-config is told where it is with PKG_CONFIG_SYSROOT_DIR.)
# Usage: install_test.sh BUILD_DIR SOURCE_DIR PREFIX LIBDIR SANITIZE RELOCATABLE_PC
set -euo pipefail
build=$1 source=$2 configured_prefix=$3 libdir=$4 sanitize=$5 relocatable_pc=$6

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$sanitize" != none ]; then
  skip "a sanitized libgreen.so needs its sanitizer runtime linked into every out-of-tree program (the release leg runs this)"
fi
for tool in meson cmake pkg-config readelf curl c++; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (tools/setup installs it)"
done

unset LD_LIBRARY_PATH LD_PRELOAD GREEN_PRELOAD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/green-install.XXXXXX")
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

# Install into TMP/dest/PREFIX, then move that prefix to TMP/moved: nothing may
# still point into the place it was installed to.
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install failed"; }
if [ "$relocatable_pc" = true ]; then
  mv "$tmp/dest$configured_prefix" "$tmp/moved"
  rm -rf "$tmp/dest"
  prefix=$tmp/moved
else
  echo "note: green.pc names $configured_prefix (meson configure -Dpkgconfig.relocatable=true): the prefix stays in DESTDIR"
  export PKG_CONFIG_SYSROOT_DIR=$tmp/dest
  prefix=$tmp/dest$configured_prefix
fi
lib=$prefix/$libdir

# On x86-64 the preload is a stub that loads the hooks, a library of their own
# (shim/meson.build); elsewhere the preload is the hooks.
hooks=libgreen_preload.so
[ "$(uname -m)" = x86_64 ] && hooks=libgreen_hooks.so
for so in libgreen.so libgreen_tls.so libgreen_preload.so $hooks; do
  [ -e "$lib/$so" ] || fail "$lib/$so was not installed"
  runpath=$(readelf -d "$lib/$so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  # shellcheck disable=SC2016  # the literal $ORIGIN
  [ "$runpath" = '$ORIGIN' ] || fail "$so has RUNPATH '$runpath', not \$ORIGIN"
done
[ -f "$lib/cmake/green/greenConfig.cmake" ] || fail "no CMake package in $lib/cmake/green"

# greenrun from the moved prefix, no LD_LIBRARY_PATH.
greenrun=$prefix/bin/greenrun
"$greenrun" /bin/true || fail "greenrun /bin/true exited with $?"
"$greenrun" --check /bin/true | grep -qF "($prefix/bin/../$libdir/libgreen_preload.so)" ||
  fail "greenrun --check /bin/true does not preload the prefix's libgreen_preload.so: $("$greenrun" --check /bin/true 2>&1)"
maps=$("$greenrun" /bin/cat /proc/self/maps)
grep -qF "$lib/libgreen_preload.so" <<<"$maps" || fail "the shim is not mapped into a program under greenrun"
[ "$hooks" = libgreen_preload.so ] || ! grep -qF libgreen_hooks <<<"$maps" ||
  fail "the hooks were loaded into a program that needs none of them"
# A name lookup green's resolver answers (--dns=ares; bash's /dev/tcp, to a
# closed loopback port) loads the hooks and, behind them, the prefix's libgreen.so.0.
maps=$("$greenrun" --dns=ares /bin/bash -c 'exec 2>/dev/null; : </dev/tcp/localhost/1; cat /proc/$$/maps; :')
{ grep -qF "$lib/$hooks.0" <<<"$maps" && grep -qF "$lib/libgreen.so.0" <<<"$maps"; } ||
  fail "a name lookup did not load the prefix's $hooks.0 and libgreen.so.0:
$(grep -F libgreen <<<"$maps")"
# green::tls is a library of its own so that the shim never brings OpenSSL along.
! grep -qE 'libgreen_tls|libssl|libcrypto' <<<"$maps" || fail "the shim loaded OpenSSL or libgreen_tls:
$(grep -E 'libgreen_tls|libssl|libcrypto' <<<"$maps")"

# A real client under greenrun against a loopback server (the build's http_hello).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/examples/http_hello" "$port" 2>/dev/null &
server=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
page=$("$greenrun" /usr/bin/curl -s --max-time 10 "http://127.0.0.1:$port/")
[ "$page" = "Hello, World!" ] || fail "greenrun curl got '$page', not 'Hello, World!'"

cp "$source/examples/hello.cpp" "$tmp/hello.cpp"
expect_hello() {  # PROGRAM: it runs and prints what examples/hello prints
  local out
  out=$("$1") || fail "$1 exited with $?"
  grep -qx "sum of squares: 55" <<<"$out" || fail "$1 printed: $out"
}

# 1. CMake: find_package(green CONFIG), green::green and green::preload.
mkdir "$tmp/cmake"
cat >"$tmp/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(hello CXX)
find_package(green 0.1 CONFIG REQUIRED)
add_executable(hello $tmp/hello.cpp)
target_link_libraries(hello PRIVATE green::green)
add_executable(hello_preload $tmp/hello.cpp)
target_link_libraries(hello_preload PRIVATE green::preload)
EOF
cmake -S "$tmp/cmake" -B "$tmp/cmake/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug \
  >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "cmake could not configure against the prefix"; }
cmake --build "$tmp/cmake/build" -j 2 >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "cmake --build failed"; }
expect_hello "$tmp/cmake/build/hello"
expect_hello "$tmp/cmake/build/hello_preload"
readelf -d "$tmp/cmake/build/hello_preload" | grep -q 'NEEDED.*\[libgreen_preload\.so\.0\]' ||
  fail "green::preload was dropped from hello_preload's link (--as-needed)"

# 2. pkg-config and a plain compiler command.
export PKG_CONFIG_PATH=$lib/pkgconfig
# shellcheck disable=SC2046  # pkg-config's words are separate arguments
c++ -std=c++20 -o "$tmp/hello_pc" "$tmp/hello.cpp" $(pkg-config --cflags --libs green) \
  -Wl,-rpath,"$(pkg-config --variable=libdir green)" || fail "c++ \$(pkg-config --cflags --libs green) failed"
expect_hello "$tmp/hello_pc"

# 3. meson's dependency('green') (found through pkg-config).
mkdir "$tmp/meson"
cp "$tmp/hello.cpp" "$tmp/meson/"
cat >"$tmp/meson/meson.build" <<'EOF'
project('hello', 'cpp', default_options: ['cpp_std=c++20'])
executable('hello', 'hello.cpp', dependencies: dependency('green', version: '>=0.1'))
EOF
meson setup "$tmp/meson/build" "$tmp/meson" >"$tmp/meson.log" 2>&1 || { cat "$tmp/meson.log"; fail "meson could not configure against the prefix"; }
ninja -C "$tmp/meson/build" -j 2 >>"$tmp/meson.log" 2>&1 || { cat "$tmp/meson.log"; fail "meson's build failed"; }
expect_hello "$tmp/meson/build/hello"

echo "install: the installed prefix ($prefix) works: greenrun, CMake, pkg-config and meson"
