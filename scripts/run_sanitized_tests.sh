#!/usr/bin/env bash
# Builds ddo with AddressSanitizer and UndefinedBehaviorSanitizer (CMake
# option DDO_SANITIZE) in build-sanitize/ and runs the whole test suite under
# them: any invalid memory access or undefined behaviour stops the test that
# caused it. Takes about twice as long as scripts/run_tests.sh.
#
# Leak detection is off (detect_leaks=0): at exit, LeakSanitizer reports
# allocations that OpenMPI, LibTorch and deal.II's static objects keep until
# the process ends, and a report also makes gtest_discover_tests fail at build
# time. Sorting ours from theirs is still to do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start=$(date +%s)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DDDO_BUILD_TESTS=ON -DDDO_SANITIZE=ON
cmake --build build-sanitize -j2
built=$(date +%s)
cd build-sanitize
status=0
ctest -j2 --output-on-failure --timeout 3600 || status=$?
end=$(date +%s)
echo "ddo sanitized tests: build $((built - start)) s, tests $((end - built)) s"
exit $status
