#!/usr/bin/env bash
# Downloads a Whisper model in ggml format (for whisper.cpp) on the installer's own network.
# Usage: scripts/download-whisper-model.sh [model] [dir]
#   model: tiny, base, small, medium, large-v3, large-v3-turbo (default: small; Russian telephony: small or better)
#   dir:   where to put it (default: ./models)
# Then set WHISPER_MODEL=<dir>/ggml-<model>.bin. Nothing is downloaded by Telefonist itself.
set -euo pipefail
model="${1:-small}"
dir="${2:-./models}"
case "$model" in
  tiny|base|small|medium|large-v1|large-v2|large-v3|large-v3-turbo|tiny.en|base.en|small.en|medium.en) ;;
  *) echo "unknown model '$model' (tiny, base, small, medium, large-v3, large-v3-turbo)" >&2; exit 2 ;;
esac
mkdir -p "$dir"
url="https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-${model}.bin"
out="$dir/ggml-${model}.bin"
echo "downloading $url → $out"
curl -fL --retry 3 -o "$out.part" "$url"
mv "$out.part" "$out"
echo "done: WHISPER_MODEL=$(cd "$dir" && pwd)/ggml-${model}.bin"
