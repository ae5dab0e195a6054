#!/usr/bin/env bash
# A process of a data-parallel run is killed (SIGKILL, as a crashed machine would be): mpirun must end the
# others within a bounded time with a non-zero exit, and the checkpoint process 0 wrote must load whole.
# Usage: mpi_rank_dies.sh TAPEGRAD MPIEXEC DATA_DIR
set -uo pipefail
tapegrad=$1 mpiexec=$2 data=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$tapegrad" train --data-parallel --data "$data" --limit 2000 \
  --epochs 10000 --save "$work/m.tgckpt" --out "$work" >"$work/log" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -f "$work/m.tgckpt" ] && break; sleep 0.1; done
[ -f "$work/m.tgckpt" ] || { echo "FAIL: no checkpoint after 60 s"; cat "$work/log"; exit 1; }
victim=""
for pid in $(pgrep -f "$work/m.tgckpt"); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$pid
done
[ -n "$victim" ] || { echo "FAIL: process 1 not found"; exit 1; }
kill -KILL "$victim"
start=$(date +%s)
for _ in $(seq 600); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$launcher" 2>/dev/null; then
  echo "FAIL: the job still runs 60 s after process 1 died"
  pkill -KILL -f "$work/m.tgckpt"
  exit 1
fi
wait "$launcher"
code=$?
echo "mpirun ended $(($(date +%s) - start)) s after process 1 was killed, exit code $code"
[ "$code" -ne 0 ] || { echo "FAIL: exit code 0"; exit 1; }
"$tapegrad" eval --model "$work/m.tgckpt" --data "$data" --limit 100 >"$work/eval" 2>&1 ||
  { echo "FAIL: the checkpoint does not load"; cat "$work/eval"; exit 1; }
echo "PASS: the checkpoint of epoch $(grep -ao 'epochs_done=[0-9]*' "$work/m.tgckpt" | head -1) loads"
