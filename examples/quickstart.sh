#!/usr/bin/env bash
# Encrypt and decrypt a sample file with an age key created here: no cloud, no other tools.
set -euo pipefail
py=${PYTHON:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$py" -c '
from pyrage import x25519
i = x25519.Identity.generate()
open("keys.txt", "w").write(f"# public key: {i.to_public()}\n{i}\n")
'
recipient=$(sed -n 's/^# public key: //p' keys.txt)
export SOPS_AGE_KEY_FILE="$work/keys.txt"
cat > secrets.yaml <<'YAML'
# database credentials
db:
    user: admin
    password: hunter2
port: 5432
YAML
echo "== sops-py encrypt --age $recipient secrets.yaml"
"$py" -m sops_py encrypt --age "$recipient" secrets.yaml > secrets.enc.yaml
cat secrets.enc.yaml
echo "== sops-py decrypt secrets.enc.yaml"
"$py" -m sops_py decrypt secrets.enc.yaml > roundtrip.yaml
cat roundtrip.yaml
cmp -s secrets.yaml roundtrip.yaml && echo "== round trip OK: decrypted bytes equal the original"
