#!/bin/sh
# Regenerates host/internal/onnxpb/onnx.pb.go from the onnx.proto that Debian's
# python3-onnx ships (apt-get install python3-onnx protobuf-compiler).
# protoc-gen-go is installed at the version go.mod pins for the runtime.
# Usage: scripts/gen-onnxpb.sh [path/to/onnx.proto]
set -eu
proto=${1:-/usr/lib/python3/dist-packages/onnx/onnx.proto}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$proto" ] || { echo "gen-onnxpb: $proto not found: apt-get install python3-onnx, or pass the path to onnx.proto" >&2; exit 1; }
command -v protoc >/dev/null || { echo "gen-onnxpb: protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
version=$(cd "$root" && go list -m -f '{{.Version}}' google.golang.org/protobuf)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$version"
protoc -I "$(dirname "$proto")" \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--go_out="$root/host/onnxpb" --go_opt=paths=source_relative \
	--go_opt="M$(basename "$proto")=github.com/pipe-bench/pipe/host/internal/onnxpb;onnxpb" \
	"$(basename "$proto")"
echo "wrote host/internal/onnxpb/onnx.pb.go from $proto (protoc-gen-go $version, $(protoc --version))"
