#!/usr/bin/env bash
# check-install.sh BUILD_DIR SOURCE_DIR — install Crucible into a temporary prefix and build a
# program against it twice: with pkg-config and with CMake's find_package; and against the
# build tree, not installed, with pkg-config.
set -euo pipefail
build=$1
here=$2
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name crucible.pc)")
libdir=$(dirname "$pcdir")

echo "== pkg-config"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o "$work/pc" \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs crucible)
LD_LIBRARY_PATH=$libdir "$work/pc"

echo "== pkg-config, shared library, without the client libraries' .pc files"
# A program linking the shared library needs only Crucible's own files: no
# libpq, MariaDB or SQLite development package (issue 8, finding 19). Only
# crucible.pc is on this search path.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o "$work/pc-alone" \
    $(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --cflags --libs crucible)
LD_LIBRARY_PATH=$libdir "$work/pc-alone"
# The static case still names every library the archive needs.
static_libs=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --static --libs crucible)
case " $static_libs " in
    *" -lsqlite3 "*) ;;
    *) echo "pkg-config --static --libs crucible lacks -lsqlite3: $static_libs"; exit 1 ;;
esac

echo "== a bool for a three-valued option does not build"
# shellcheck disable=SC2046
tristate() {
    cc -std=c11 -Wall -Wextra -Werror "$@" "$here/tristate_bool.c" -o "$work/tristate" \
        $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs crucible) 2>"$work/tristate.err"
}
tristate
LD_LIBRARY_PATH=$libdir "$work/tristate"
for off in -DCOLUMN_OFF=false -DOPTION_OFF=false; do
    if tristate "$off"; then
        echo "tristate_bool.c built with $off: a bool taken as CR_AUTO"; exit 1
    fi
    grep -q "tristate_bool.c" "$work/tristate.err" || { cat "$work/tristate.err"; exit 1; }
done

echo "== pkg-config on the build tree, not installed"
# PKG_CONFIG_PATH=<build dir> finds crucible-uninstalled.pc first: the
# tree's include/ and the built library, found at run time by its rpath.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o "$work/tree" \
    $(PKG_CONFIG_PATH=$build pkg-config --cflags --libs crucible)
env -u LD_LIBRARY_PATH "$work/tree"

echo "== find_package(Crucible)"
mkdir "$work/proj"
cp "$here/consumer.c" "$work/proj/"
cp "$here/CMakeLists.txt.in" "$work/proj/CMakeLists.txt"
cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/proj/build" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/proj/build/consumer"
echo "== the crucible command"
"$prefix/bin/crucible" --version
"$prefix/bin/crucible" inspect "sqlite:///$work/empty.db" >/dev/null
echo "== the manual"
for page in man1/crucible.1 man3/crucible.3 man3/cr_engine_connect.3; do
    [ -s "$prefix/share/man/$page" ] || { echo "not installed: share/man/$page"; exit 1; }
done
[ -s "$prefix/share/doc/Crucible/html/reference.html" ] ||
    { echo "not installed: share/doc/Crucible/html/reference.html"; exit 1; }
echo "install checks passed"
