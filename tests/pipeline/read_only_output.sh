#!/usr/bin/env bash
# Output into directories the user may not write: `ddo generate`, `ddo
# sample` and `ddo metrics` stop with a clear error, and the files already
# there stay as they are.
#
#   read_only_output.sh DDO PRM WORKDIR
#
# In WORKDIR: the GRF miniature PRM generated, trained, sampled and judged
# once; then its output/ and data/ directories and their files are made
# read-only and the three commands run again, as an unprivileged user when
# run as root (setpriv: for root, permissions do not stop a write). Exit
# status 77 (skipped): no unprivileged user can run the driver here.
set -euo pipefail
ddo=$1 prm=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
cp "$prm" pipeline.prm
for command in generate train sample metrics; do
  "$ddo" $command pipeline.prm > $command.log 2>&1 || { cat $command.log; exit 1; }
done

run_as=()
if [ "$(id -u)" = 0 ]; then
  run_as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod -R a+rX . 2> /dev/null || true
  if ! "${run_as[@]}" test -x "$ddo" || ! "${run_as[@]}" test -r pipeline.prm; then
    echo "skipped: an unprivileged user cannot run the driver from here"
    exit 77
  fi
fi
before=$(sha256sum data/* output/samples.h5 output/metrics/metrics.txt)
chmod -R a-w data output

# A new data set file and a new sampling seed, so that each command has
# something to write.
sed -e 's|set Output file = data/train.h5|set Output file = data/more.h5|' \
    -e 's|set Test output file = data/test.h5|set Test output file = data/more_test.h5|' \
    -e 's/^subsection Sampling$/subsection Sampling\n  set Seed = 7/' pipeline.prm > again.prm
grep -q "data/more.h5" again.prm || { echo "the miniature no longer writes data/train.h5"; exit 1; }
check() { # command, expected message
  local status=0
  "${run_as[@]}" "$ddo" "$1" again.prm > "$1-again.log" 2>&1 || status=$?
  if [ "$status" = 0 ]; then
    echo "FAILED: ddo $1 into a read-only directory reported success"; cat "$1-again.log"; exit 1
  fi
  if ! grep -q "$2" "$1-again.log"; then
    echo "FAILED: ddo $1: no clear message (expected: $2)"; cat "$1-again.log"; exit 1
  fi
  echo "ddo $1: exit status $status, $(grep -m1 "$2" "$1-again.log" | sed 's/^ *//')"
}
check generate "cannot be created (is its directory writable"
check sample "cannot be created (is its directory writable"
check metrics "Cannot write"

after=$(sha256sum data/* output/samples.h5 output/metrics/metrics.txt)
chmod -R u+w data output
if [ "$before" != "$after" ]; then
  echo "FAILED: files changed:"; diff <(echo "$before") <(echo "$after"); exit 1
fi
echo "every file is as it was: $(echo "$after" | wc -l) files"
