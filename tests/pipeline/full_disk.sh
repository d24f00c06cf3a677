#!/usr/bin/env bash
# A full disk: `ddo generate` stops with a clear error when its disk fills,
# keeps every row it wrote, and resumes once there is space; the data then
# equal an uninterrupted run's, bitwise.
#
#   full_disk.sh DDO COMPARE PRM WORKDIR
#
# In WORKDIR: the GRF miniature PRM with 400 training fields, generated
# uninterrupted into data/, then into full/, a 64 kB tmpfs mounted in a
# private mount namespace (unshare: as root, or with unprivileged user
# namespaces), where the disk fills part way. What the failed run left is
# copied out of the namespace, and generation resumes from it on the
# ordinary disk. COMPARE is compare_field_files. Exit status 77 (skipped):
# no tmpfs can be mounted here.
set -euo pipefail
ddo=$1 compare=$2 prm=$3 work=$4
rm -rf "$work"
mkdir -p "$work/full" "$work/kept"
cd "$work"

sed 's/set Number of samples = 20$/set Number of samples = 400/' "$prm" > uninterrupted.prm
grep -q "set Number of samples = 400" uninterrupted.prm || { echo "the miniature no longer has 'Number of samples = 20'"; exit 1; }
sed 's|data/|full/|g' uninterrupted.prm > full.prm

"$ddo" generate uninterrupted.prm > uninterrupted.log 2>&1 || { cat uninterrupted.log; exit 1; }

cat > on_full_disk.sh <<SCRIPT
mount -t tmpfs -o size=64k tmpfs full || exit 77
status=0
"$ddo" generate full.prm > full.log 2>&1 || status=\$?
cp full/* kept/ 2> /dev/null || true
exit \$status
SCRIPT
status=0
unshare --mount --map-root-user sh on_full_disk.sh || status=$?
if [ "$status" = 77 ] || ! [ -f full.log ]; then
  echo "skipped: no tmpfs can be mounted in a private mount namespace here"
  exit 77
fi
echo "on the full disk: exit status $status; what the run left: $(cd kept && ls | tr '\n' ' ')"
if [ "$status" = 0 ]; then
  echo "FAILED: generation on a 64 kB disk reported success"; cat full.log; exit 1
fi
message=$(grep "ddo: error" -A2 full.log | tr -s ' \n' ' ')
echo "its message: $message"
if ! grep -q "cannot write row [0-9]* to disk (disk full?)" full.log; then
  echo "FAILED: no clear message that the disk is full"; cat full.log; exit 1
fi
if [ -e kept/train.h5 ] || ! [ -f kept/train.h5.partial ]; then
  echo "FAILED: the training set must stay a partial file"; exit 1
fi

# Space again: the partial file on the ordinary disk, and generation resumes.
cp kept/train.h5.partial full/
"$ddo" generate full.prm > resumed.log 2>&1 || { cat resumed.log; exit 1; }
resumed=$(grep -o "[0-9]* of [0-9]* fields into <full/train.h5> .resuming." resumed.log || true)
if [ -z "$resumed" ]; then
  echo "FAILED: the second run did not resume the partial file"; cat resumed.log; exit 1
fi
echo "resumed: $resumed"
for file in train.h5 test.h5; do
  "$compare" "data/$file" "full/$file" 0 || { echo "FAILED: $file differs from the uninterrupted run's"; exit 1; }
done
echo "the data equal the uninterrupted run's bitwise"
