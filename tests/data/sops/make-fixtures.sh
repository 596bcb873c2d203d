#!/usr/bin/env bash
# Re-creates the encrypted fixtures in this folder from the plain documents below, with the real sops and the
# committed TEST age key (age-key.txt: a key made for these tests only, protecting nothing but these fixtures).
# Run from anywhere: bash tests/data/sops/make-fixtures.sh   (needs `sops` 3.9+ on PATH; `age-keygen` only to make a
# new key, which the committed one makes unnecessary). The plain documents' values are the test suite's secrets
# (tests/it/common/mod.rs).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f age-key.txt ]; then
  {
    echo "# TEST KEY ONLY: an age key made for reconcile's test suite. It protects nothing but the fixtures in"
    echo "# tests/data/sops and examples/sops, and is public on purpose. Never encrypt a real secret to it."
    age-keygen 2>/dev/null
  } > age-key.txt
fi
recipient=$(grep '^# public key: ' age-key.txt | sed 's/^# public key: //')
plain=$(mktemp -d)
trap 'rm -rf "$plain"' EXIT

cat > "$plain/secrets.enc.yaml" <<'YAML'
ultravox:
  apiKey: test-uvx-key-4f1c
twilio:
  accountSid: AC0123456789abcdef0123456789abcdef
  authToken: Tq7wR2-token-QX7R-0001
telnyx:
  apiKey: KEYt3lX-api-9Z3M
  publicKey: pbK7tn-pub-W2V8xy
plivo:
  authToken: Pl4vQ-token-LK55-aaaa
sip:
  port: 5060
  trunks:
    - trunk-a.example.com
    - trunk-b.example.com
YAML
cat > "$plain/secrets.enc.json" <<'JSON'
{
  "twilio": {"authToken": "Tq7wR2-token-QX7R-0001"},
  "telnyx": {"apiKey": "KEYt3lX-api-9Z3M", "publicKey": "pbK7tn-pub-W2V8xy"},
  "plivo": {"authToken": "Pl4vQ-token-LK55-aaaa"}
}
JSON
cat > "$plain/secrets.enc.env" <<'ENV'
TWILIO_AUTH_TOKEN=Tq7wR2-token-QX7R-0001
PLIVO_AUTH_TOKEN=Pl4vQ-token-LK55-aaaa
ENV
for name in secrets.enc.yaml secrets.enc.json secrets.enc.env; do
  # sops chooses the format by the extension of the file it reads, so the plain copy keeps the name.
  sops encrypt --age "$recipient" "$plain/$name" > "$name"
done

# The example (examples/sops): the quickstart's demo values, encrypted to the same test key.
cat > "$plain/secrets.enc.yaml" <<'YAML'
twilio:
  authToken: demo-twilio-auth-token
telnyx:
  apiKey: KEYdemo-telnyx-api-key
  publicKey: demo-telnyx-public-key
plivo:
  authToken: demo-plivo-auth-token
YAML
sops encrypt --age "$recipient" "$plain/secrets.enc.yaml" > ../../../examples/sops/secrets.enc.yaml
