#!/usr/bin/env bash
# Fuzzes the targets of the fuzz module, one at a time, each for a set time (see docs/reliability.md).
#
#   fuzz/fuzz.sh [SECONDS] [Class#method ...]     e.g. fuzz/fuzz.sh 300, fuzz/fuzz.sh 60 NpyFuzzTest#parse
#
# SECONDS: per target (default 120). Without targets, every target runs. Each run starts from the target's seed
# corpus (src/test/resources/.../<Class>Inputs/<method>) plus what earlier runs kept in fuzz/target/corpus; new
# crashing inputs are written next to the seeds as crash-*, so the normal build replays them from then on.
# A summary line per target (executions, corpus size, findings) is appended to fuzz/target/fuzz-summary.tsv.
# Runs the Jazzer driver directly (libFuzzer's -max_total_time), with the same 512 MB heap as the regression run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-120}
shift || true
ALL=(
  weights.SafeTensorsFuzzTest#readHeader weights.TorchBinFuzzTest#load weights.TorchBinFuzzTest#unpickle
  weights.ShardIndexFuzzTest#files checkpoint.ConfigJsonFuzzTest#modelIndex
  checkpoint.ConfigJsonFuzzTest#componentConfigs checkpoint.ConfigJsonFuzzTest#schedulerConfig
  image.NpyFuzzTest#parse image.ImageInputFuzzTest#read eval.normals.OpenExrFuzzTest#read
  eval.normals.OasisPickleFuzzTest#read eval.depth.DatasetFuzzTest#yaml eval.depth.DatasetFuzzTest#filenameList
  eval.depth.DatasetFuzzTest#tarMembers cli.serve.MultipartFuzzTest#parse cli.serve.DemoServerFuzzTest#request
  hub.HubResponsesFuzzTest#snapshot
)
TARGETS=()
if [ $# -eq 0 ]; then TARGETS=("${ALL[@]}"); else
  for want in "$@"; do for t in "${ALL[@]}"; do [[ "$t" == *"$want" ]] && TARGETS+=("$t"); done; done
fi
[ ${#TARGETS[@]} -gt 0 ] || { echo "no target matches $*" >&2; exit 2; }

# compile (reactor build: core and cli from this checkout, not from ~/.m2) and record the test classpath
./mvnw -B -o -q -pl fuzz -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/test-classpath.txt
CP="$PWD/fuzz/target/test-classes:$PWD/core/target/classes:$PWD/cli/target/classes"
CP="$CP:$(tr ':' '\n' < fuzz/target/test-classpath.txt | grep -v '/marigold4j-\(core\|cli\)' | paste -sd:)"
mkdir -p fuzz/target/fuzz-logs

for t in "${TARGETS[@]}"; do
  cls="marigold4j.${t%#*}"
  method="${t#*#}"
  simple="${cls##*.}"
  pkgdir="$(echo "${cls%.*}" | tr . /)"
  seeds="fuzz/src/test/resources/$pkgdir/${simple}Inputs/$method"
  corpus="fuzz/target/corpus/$simple/$method"
  log="fuzz/target/fuzz-logs/$simple-$method.log"
  mkdir -p "$seeds" "$corpus"
  before=$(ls "$seeds" | grep -c -E '^(crash|timeout|oom|slow-unit)-' || true)
  echo "== $simple#$method for ${SECONDS_PER_TARGET}s (log: $log)"
  set +e
  (cd fuzz/target && java -Xmx512m -Dorg.bytedeco.javacpp.maxPhysicalBytes=2g \
    -Dorg.bytedeco.javacpp.cachedir="$PWD/../../target/javacpp-cache" -Dsun.net.httpserver.maxReqTime=2 \
    -cp "$CP" com.code_intelligence.jazzer.Jazzer --target_class="$cls" --target_method="$method" --keep_going=50 \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=0 -artifact_prefix="$PWD/../../$seeds/" \
    "$PWD/../../$corpus" "$PWD/../../$seeds") > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -a -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*' || true)
  [ -n "$execs" ] || execs=$(grep -a -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
  after=$(ls "$seeds" | grep -c -E '^(crash|timeout|oom|slow-unit)-' || true)
  printf '%s\t%s#%s\t%ss\texecs=%s\tcorpus=%s\tnew_findings=%s\trc=%s\n' "$(date -u +%FT%TZ)" "$simple" "$method" \
    "$SECONDS_PER_TARGET" "${execs:-?}" "$(ls "$corpus" | wc -l)" "$((after - before))" "$rc" \
    | tee -a fuzz/target/fuzz-summary.tsv
done
