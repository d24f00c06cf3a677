#!/usr/bin/env bash
# Builds ddo with AddressSanitizer and UndefinedBehaviorSanitizer (CMake
# option DDO_SANITIZE) in build-sanitize/ and runs the whole test suite under
# them: any invalid memory access or undefined behaviour stops the test that
# caused it. Takes about three times as long as scripts/run_tests.sh; the
# test time limits are four times longer in a sanitized build.
#
# Leak detection is on. Every leak LeakSanitizer reports at exit was sorted
# with full stacks: all of them are OpenMPI's (the state of MPI_Init and
# MPI_Finalize, about 125 kB in 3,400 allocations per process), none ddo's;
# tests/lsan_suppressions.txt suppresses exactly those, each explained.
# Matching them needs the full stack of every allocation
# (fast_unwind_on_malloc=0: OpenMPI's libraries have no frame pointers),
# which doubles the time of the torch tests. LEAKS=0 turns leak detection off.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
if [ "${LEAKS:-1}" = 1 ]; then
  export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1:strict_string_checks=1
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan_suppressions.txt:print_suppressions=0"
else
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1
fi
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start=$(date +%s)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DDDO_BUILD_TESTS=ON -DDDO_SANITIZE=ON
cmake --build build-sanitize -j2
built=$(date +%s)
cd build-sanitize
status=0
ctest -j2 --output-on-failure || status=$?
end=$(date +%s)
echo "ddo sanitized tests: build $((built - start)) s, tests $((end - built)) s"
exit $status
