#!/usr/bin/env bash
# Video hashing speed, side by side in one run: `neardup hash -j 1` at the
# default interval (one frame per second) with ffmpeg decoding (the default
# when ffmpeg is on PATH) and with the bundled OpenH264 (forced with
# NEARDUP_FFMPEG=/nonexistent), against `ffmpeg -threads 1 -i FILE -f null -`
# decoding the same file, each file REPEAT times alternately, median wall
# time. Prints a Markdown table; ratios, not absolute times, are what
# carries over between machines.
#
#   cargo build --release --locked
#   scripts/bench_video.sh target/release/neardup FILE.mp4 [FILE ...]
#
# REPEAT (default 5) sets the repetitions.
set -euo pipefail
bin=${1:?usage: bench_video.sh NEARDUP_BINARY FILE...}
shift
repeat=${REPEAT:-5}
command -v ffmpeg >/dev/null || { echo "ffmpeg is not on PATH" >&2; exit 2; }

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }

echo "| file | size | frames | ffmpeg -threads 1 decode (s) | neardup, ffmpeg (s) | ratio | neardup, OpenH264 (s) | ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for f in "$@"; do
  nf=(); nb=(); ff=()
  for _ in $(seq "$repeat"); do
    t0=$(now); "$bin" hash -j 1 "$f" >/dev/null; t1=$(now)
    NEARDUP_FFMPEG=/nonexistent "$bin" hash -j 1 "$f" >/dev/null; t2=$(now)
    ffmpeg -v error -nostdin -threads 1 -i "$f" -f null - ; t3=$(now)
    nf+=("$(secs "$t0" "$t1")"); nb+=("$(secs "$t1" "$t2")"); ff+=("$(secs "$t2" "$t3")")
  done
  a=$(printf '%s\n' "${nf[@]}" | median); b=$(printf '%s\n' "${nb[@]}" | median)
  c=$(printf '%s\n' "${ff[@]}" | median)
  size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,nb_frames,profile -of csv=p=0 "$f")
  IFS=, read -r profile w h frames <<<"$size"
  printf '| %s | %sx%s %s | %s | %.3f | %.3f | %.2f | %.3f | %.2f |\n' "$(basename "$f" .mp4)" "$w" "$h" "$profile" "$frames" \
    "$c" "$a" "$(awk -v a="$a" -v c="$c" 'BEGIN {print a / c}')" "$b" "$(awk -v b="$b" -v c="$c" 'BEGIN {print b / c}')"
done
