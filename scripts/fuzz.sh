#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, -fsanitize=fuzzer,address,undefined; core only,
# no GUI) in build-san/, the folder scripts/asan.sh builds (tl_core's objects are shared), and runs each for a bounded time: fuzz_spec (measure SPEC parser), fuzz_csv
# (CSV point clouds), fuzz_pgm (PGM images), fuzz_scenario (scenario JSON). Each starts from its seeds
# in tests/fuzz/corpus (file name prefix = target: spec_, csv_, pgm_, scenario_), the presets and
# images in resources/, and what earlier runs found (build-san/corpus/<target>, kept between runs),
# with a dictionary made from docs/measures.md and docs/scenarios.md (generated from the declarations).
# Any crash, leak, UBSan report, timeout (> 10 s on one input) or memory blow-up (> 2 GB) fails the
# step; the input is saved as build-san/artifacts/<target>-crash-*: copy it to
# tests/fuzz/corpus/<target>_<what>.<ext> so tst_cli_hostile replays it through the CLI.
# Environment: TL_FUZZ_SECONDS (per target, default 30), TL_FUZZ_JOBS (build parallelism, default 2),
# TL_FUZZ_TARGETS (default "spec csv pgm scenario"), TL_FUZZ_STRICT=1 (fuzz_scenario also requires
# every error message to be one printable line; see docs/sanitizers.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/lib.sh
jobs=${TL_FUZZ_JOBS:-2}
seconds=${TL_FUZZ_SECONDS:-30}
targets=${TL_FUZZ_TARGETS:-spec csv pgm scenario}
build=$TL_SAN_BUILD
tl_configure_sanitized
build_targets=()
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j"$jobs" --target "${build_targets[@]}"

# Dictionaries: SPEC kinds and keys; scenario keys and dynamics names.
mkdir -p "$build/dict"
{
  for tok in ':' ',' ';' '=' '.csv' 'image:path=' 'n=' 'seed=' '1e308' '-0' 'nan' 'inf' '0x1p-1074'; do printf '"%s"\n' "$tok"; done
  sed -n 's/^| \*\*\([a-z0-9-]*\)\*\* |.*/"\1:"/p' docs/measures.md
  sed -n 's/^| | `\([a-z0-9_]*\)` |.*/"\1="/p' docs/measures.md | sort -u
} >"$build/dict/spec.dict"
{
  for tok in '{' '}' '[' ']' ':' ',' '"' '1e400' '-1' '0.5' 'true' 'null'; do printf '"%s"\n' "${tok//\"/\\\"}"; done
  sed -n 's/^### `\([a-z0-9-]*\)`.*/"\\"\1\\""/p' docs/scenarios.md
  sed -n 's/^| `\([a-z0-9_]*\)`.*/"\\"\1\\""/p' docs/scenarios.md | sort -u
  for k in source target frames duration snapshots panels dynamics title name description divergence_epsilon time measure; do printf '"\\"%s\\""\n' "$k"; done
} >"$build/dict/scenario.dict"

fail=0
for t in $targets; do
  seeds="$build/seeds/$t"
  rm -rf "$seeds"
  mkdir -p "$seeds" "$build/corpus/$t" "$build/artifacts"
  cp tests/fuzz/corpus/"${t}"_* "$seeds"/ 2>/dev/null || true
  case $t in
    scenario) cp resources/scenarios/*.json "$seeds"/ ;;
    pgm) cp resources/images/*.pgm "$seeds"/ ;;
    spec)
      i=0
      sed -n 's/^| \*\*\([a-z0-9-]*\)\*\* |.*/\1/p' docs/measures.md | while read -r kind; do
        i=$((i + 1))
        printf '%s:n=50,seed=%d' "$kind" "$i" >"$seeds/kind_$kind"
      done ;;
    csv) printf 'x,y,weight\n0,0,1\n1,2,3\n' >"$seeds/basic.csv"; printf '1\n2\n3\n' >"$seeds/one_d.csv"; printf 'x,y,z\n1,2,3\n' >"$seeds/three_d.csv" ;;
  esac
  dict=()
  [ -f "$build/dict/$t.dict" ] && dict=(-dict="$build/dict/$t.dict")
  case $t in scenario) max_len=16384 ;; csv) max_len=8192 ;; pgm) max_len=8192 ;; *) max_len=512 ;; esac
  log="$build/artifacts/$t.log"
  echo "fuzz: $t for ${seconds}s (seeds: $(ls "$seeds" | wc -l), corpus: $(ls "$build/corpus/$t" | wc -l))"
  set +e
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "${dict[@]}" "$build/corpus/$t" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    fail=1
    tail -n 60 "$log"
    echo "fuzz: $t FAILED (exit $rc); input saved as: $(ls -t "$build/artifacts/$t-"* 2>/dev/null | grep -v '\.log$' | head -n 1)" >&2
    echo "fuzz: copy it to tests/fuzz/corpus/${t}_<what> so tst_cli_hostile replays it; full log: $log" >&2
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | tr '\n' ' ' | sed "s/^/fuzz: $t clean: /"
    echo
  fi
done
exit "$fail"
