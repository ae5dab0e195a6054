#!/usr/bin/env bash
# MPI processes that disagree stop together: MPMD launches (mpirun -np 1 A : -np 1 B) whose second process differs
# in one setting, or reads a folder of the same name with other contents, must end with exit code 2 within the
# timeout, naming the setting and process 1, and write no checkpoint.
# Usage: test_mpi_agreement.sh TAPEGRAD MPIEXEC FASHION_MNIST_DIR
set -uo pipefail
tapegrad=$1 mpiexec=$2 fashion=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi=("$mpiexec" --allow-run-as-root --oversubscribe)
# Under the sanitizers, tests/lsan.supp names Open MPI's libraries, which LSan sees only in full stacks (the fast
# unwinder stops in MPI's plugins); the processes mpirun starts here inherit this environment.
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
failures=0
expect() {  # expect NAME MESSAGE -- mpirun arguments...
  local name=$1 message=$2
  shift 3
  timeout 120 "${mpi[@]}" "$@" >"$work/log" 2>&1
  local code=$?
  if [ "$code" -ne 2 ] || ! grep -qF -- "$message" "$work/log" || [ -e "$work/m.tgckpt" ]; then
    echo "FAIL: $name: exit code $code (2 wanted), message '$message' wanted:"
    cat "$work/log"
    failures=$((failures + 1))
  else
    echo "ok: $name: $(grep -F -- "$message" "$work/log" | head -1)"
  fi
}
train=(train --data-parallel --data "$fashion" --limit 400 --net 8 --epochs 1 --save "$work/m.tgckpt" --out "$work")
expect "subcommand" "process 1 of 2: the processes disagree: the subcommand is compare here and train on process 0" -- \
  -np 1 "$tapegrad" "${train[@]}" : -np 1 "$tapegrad" compare --data "$fashion" --limit 400 --epochs 1 --out "$work"
for setting in "--batch 50:--batch 100" "--seed 1:--seed 2" "--opt sgd:--opt adam" "--clip norm=1:--clip norm=2" \
               "--schedule constant:--schedule step:every=1" "--init he:--init xavier"; do
  a=${setting%%:*} b=${setting#*:}
  expect "${a%% *}" "process 1 of 2: the processes disagree: ${a%% *} is ${b#* } here and ${a#* } on process 0" -- \
    -np 1 "$tapegrad" "${train[@]}" $a : -np 1 "$tapegrad" "${train[@]}" $b
done
expect "--double" "process 1 of 2: the processes disagree: --double is" -- \
  -np 1 "$tapegrad" "${train[@]}" : -np 1 "$tapegrad" "${train[@]}" --double
expect "compare --epochs" "process 1 of 2: the processes disagree: --epochs is 2 here and 1 on process 0" -- \
  -np 1 "$tapegrad" compare --data "$fashion" --limit 400 --epochs 1 --out "$work" : \
  -np 1 "$tapegrad" compare --data "$fashion" --limit 400 --epochs 2 --out "$work"
# One folder name, two contents (as on two machines): process 1 reads the training and test files swapped.
mkdir -p "$work/a/data" "$work/b/data"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  ln -s "$fashion/$f.gz" "$work/a/data/$f.gz"
done
for pair in train:t10k t10k:train; do
  from=${pair%%:*} to=${pair#*:}
  ln -s "$fashion/$from-images-idx3-ubyte.gz" "$work/b/data/$to-images-idx3-ubyte.gz"
  ln -s "$fashion/$from-labels-idx1-ubyte.gz" "$work/b/data/$to-labels-idx1-ubyte.gz"
done
same=(train --data-parallel --data data --limit 400 --net 8 --epochs 1 --save "$work/m.tgckpt" --out "$work")
expect "data contents" "process 1 of 2: the processes disagree: data contents is train 400 rows" -- \
  -np 1 --wdir "$work/a" "$tapegrad" "${same[@]}" : -np 1 --wdir "$work/b" "$tapegrad" "${same[@]}"
expect "compare data contents" "process 1 of 2: the processes disagree: data contents is" -- \
  -np 1 --wdir "$work/a" "$tapegrad" compare --data data --limit 400 --epochs 1 --out "$work" : \
  -np 1 --wdir "$work/b" "$tapegrad" compare --data data --limit 400 --epochs 1 --out "$work"
# and agreeing processes still train
timeout 120 "${mpi[@]}" -np 2 "$tapegrad" "${train[@]}" >"$work/log" 2>&1 ||
  { echo "FAIL: agreeing processes did not train:"; cat "$work/log"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "PASS: every disagreement stopped both processes with exit code 2"
exit "$failures"
