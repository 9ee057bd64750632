#!/usr/bin/env bash
# Analyse a folder of recordings as a Slurm job array, one shard of the recordings per array task:
#
#   sbatch --array=0-9 scripts/cluster/slurm-analyze.sh VIDEOS_DIR OUT_DIR
#
# Each task runs `chaperone analyze --shard K/N` on the same sorted list of recordings, so the ten tasks
# share the work without overlap and write into OUT_DIR exactly what one unsharded run would. When all
# tasks are done, one table of every recording:
#
#   chaperone report OUT_DIR --out OUT_DIR/report.csv
#
# CHAPERONE names the binary (default: `chaperone` on PATH); extra arguments after OUT_DIR go to
# `analyze` (e.g. --config lab.toml). Recordings are the *.mp4, *.avi, *.mkv, *.mov and *.wmv files.
#SBATCH --job-name=chaperone
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=04:00:00
set -euo pipefail
usage="usage: sbatch --array=0-(N-1) $0 VIDEOS_DIR OUT_DIR [ANALYZE ARGS...]"
videos=${1:?$usage}
out=${2:?$usage}
shift 2
k=${SLURM_ARRAY_TASK_ID:?not a job array task: $usage}
n=${SLURM_ARRAY_TASK_COUNT:?not a job array task: $usage}
# An array may start at 1 (--array=1-10): shards count from the array's first index.
first=${SLURM_ARRAY_TASK_MIN:-0}
shopt -s nullglob nocaseglob
inputs=("$videos"/*.mp4 "$videos"/*.avi "$videos"/*.mkv "$videos"/*.mov "$videos"/*.wmv)
if [ ${#inputs[@]} -eq 0 ]; then
    echo "slurm-analyze: no recordings (*.mp4, *.avi, *.mkv, *.mov, *.wmv) in $videos" >&2
    exit 1
fi
exec "${CHAPERONE:-chaperone}" analyze --quiet --no-video --shard "$((k - first))/$n" --out "$out" "$@" "${inputs[@]}"
