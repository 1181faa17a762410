#!/usr/bin/env bash
# One session every ~30 minutes: `benchgate run` of suite.yaml with the code frozen at
# the commit the corpus worktree holds. Writes session-<UTC time>.json + .meta.json.
cd /work/corpus
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while true; do
  ts=$(date -u +%Y%m%dT%H%M%SZ)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s)
  .venv/bin/benchgate run /work/corpus-data/suite.yaml --out /work/corpus-data/session-$ts.json \
      > /work/corpus-data/session-$ts.log 2>&1
  rc=$?
  end=$(date +%s)
  load2=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '{"session":"%s","rc":%d,"seconds":%d,"loadavg_before":"%s","loadavg_after":"%s","commit":"%s","host_cpus":%d}\n' \
    "$ts" "$rc" "$((end-start))" "$load" "$load2" "$(git rev-parse --short HEAD)" "$(nproc)" > /work/corpus-data/session-$ts.meta.json
  sleep $((1500 + RANDOM % 600))
done
