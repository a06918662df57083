# Sourced by the build scripts: one place for what every `cmake -S` shares.
# - Ninja, when installed (it is in install-deps.sh): faster no-op and incremental builds than make.
# - ccache for C and C++ (CMAKE_<LANG>_COMPILER_LAUNCHER, read by CMake from the environment), so the
#   four build folders of .ci/run (Release, TSan, clang ASan/UBSan/fuzz) and repeated runs reuse objects.
#   CCACHE_DIR may be set by the caller; by default ccache's own (~/.cache/ccache).
# - tl_step NAME CMD...: runs a step and prints its wall time (the CI log's timing table).
if command -v ninja >/dev/null 2>&1; then export CMAKE_GENERATOR=Ninja; fi
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # Precompiled headers and ccache: the PCH's timestamps and __TIME__ must not defeat the cache.
  export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
  # A clean clone in another folder hits the cache too: paths under the checkout are hashed relative
  # to it, and the working directory is not hashed (debug info may then name the first clone's
  # folder). Objects whose command line holds an absolute path (the tests' -DTL_SOURCE_DIR, Qt
  # Test's own -DQT_TESTCASE_SOURCEDIR) still compile again in a new folder.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
# A build folder configured with another generator cannot be reused: start it again.
tl_fresh_if_generator_changed() {
  local dir=$1
  if [ -f "$dir/CMakeCache.txt" ] && [ -n "${CMAKE_GENERATOR:-}" ] &&
    ! grep -q "^CMAKE_GENERATOR:INTERNAL=${CMAKE_GENERATOR}\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
}

# The one sanitizer build folder, shared by scripts/asan.sh (core + cli tests under ASan + UBSan) and
# scripts/fuzz.sh (the libFuzzer targets): clang, -fsanitize=address,undefined plus libFuzzer's
# coverage instrumentation (fuzzer-no-link) on every object, -O2 -g, our assertions on (an assert is
# one more oracle; Eigen's own bounds checks off: EIGEN_NO_DEBUG), no GUI. tl_core is compiled once
# for both steps.
TL_SAN_BUILD=build-san
tl_configure_sanitized() {
  tl_fresh_if_generator_changed "$TL_SAN_BUILD"
  cmake -S . -B "$TL_SAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DEIGEN_NO_DEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" \
    -DTL_SANITIZE_ADDRESS=ON -DTL_FUZZ=ON -DTL_BUILD_GUI=OFF -DTL_BUILD_TESTS=ON >/dev/null
}

# Runs "$@" and prints its wall time: "ci: NAME took M min S s".
tl_timed() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  set +e
  "$@"
  rc=$?
  set -e
  local dt=$(($(date +%s) - t0))
  printf 'ci: %-8s %s after %d min %02d s\n' "$name" "$([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)")" $((dt / 60)) $((dt % 60))
  echo "$name $rc $dt" >>"${TL_CI_TIMES:-/dev/null}"
  return "$rc"
}
