#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (default 60 s each). A crasher is written to
# Fuzz/artifacts/; copy it to Fuzz/regressions/<target>/ so the unit tests replay it forever.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
swift build -c release -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz
for target in http-parser:FuzzHTTPParser frame-reader:FuzzFrameReader json-parser:FuzzJSONParser; do
  name=${target%%:*}; product=${target##*:}
  mkdir -p "corpus/$name" artifacts
  # A target's tokens (dictionaries/<target>.dict), where it has them, help libFuzzer build structure.
  dict=(); [ -f "dictionaries/$name.dict" ] && dict=(-dict="dictionaries/$name.dict")
  echo "fuzzing $name for ${seconds}s"
  ".build-fuzz/release/$product" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="artifacts/$name-" "corpus/$name" "regressions/$name" 2>&1 | tail -12
done
