#!/usr/bin/env bash
# Regenerate keyservice_pb2.py, keyservice_pb2.pyi and keyservice_pb2_grpc.py from keyservice.proto.
#
# The committed modules were made with grpcio-tools 1.64.1 (protoc 26, protobuf gencode 5.26.1), the
# oldest generator whose output the project's floor (grpcio>=1.64.1, protobuf>=5.26.1 in the
# `keyservice` extra) accepts: newer protobuf and grpcio runtimes load older gencode, not the reverse,
# so generating with the newest grpcio-tools would force every user onto the newest protobuf.
#
# Run from anywhere; it uses a throwaway virtualenv so the project's own environment is untouched:
#   bash sops_py/keyservice/generate.sh
# The -I at the repository root makes the generated grpc module import
# `from sops_py.keyservice import keyservice_pb2` (a package-relative import, not a top-level one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q 'grpcio-tools==1.64.1'
cd "$root"
"$venv/bin/python" -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. \
    sops_py/keyservice/keyservice.proto
echo "generated: $(ls sops_py/keyservice/keyservice_pb2*)"
