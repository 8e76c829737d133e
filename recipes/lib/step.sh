# Sourced by the recipes' shell scripts (recipes/an4/decode.sh, recipes/digits/decode.sh).
#
# step NAME OUTPUT CMD...: run CMD (echoed, under $NICE, its output also in $OUT/NAME.log, its
# seconds appended to $OUT/timings.tsv) unless OUTPUT exists, so a re-run resumes where it stopped.
step() {
  local name=$1 output=$2; shift 2
  if [ -e "$output" ]; then echo "[skip] $name: $output exists"; return; fi
  echo "+ $*"
  local start=$SECONDS
  $NICE "$@" 2>&1 | tee "$OUT/$name.log"
  echo -e "$name\t$((SECONDS - start))" >> "$OUT/timings.tsv"
}
