#!/usr/bin/env bash
# Makes a kmsRsa sealed input with the OpenSSL command line only (the commands of docs/api.md,
# "Inputs sealed to a KMS RSA public key"): kms-rsa-openssl.sh PUBLIC_KEY.der LABEL < plaintext
# LABEL is enclavekit/v1/<purpose>[/<field>]; prints the input in base64.
set -euo pipefail
PUB="$1"; LABEL="$2"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }

cat > "$W/plain"
ENC_KEY=$(openssl rand -hex 32); MAC_KEY=$(openssl rand -hex 32); IV=$(openssl rand -hex 16)
# key id: SHA-256 of the DER SubjectPublicKeyInfo (what GetPublicKey returns)
openssl pkey -pubin -inform DER -in "$PUB" -outform DER | openssl dgst -sha256 -binary > "$W/keyid"
# wrapped secret: RSAES-OAEP, SHA-256 and MGF1-SHA-256 (KMS RSAES_OAEP_SHA_256)
hex2bin "$ENC_KEY$MAC_KEY" | openssl pkeyutl -encrypt -pubin -keyform DER -inkey "$PUB" \
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 > "$W/wrapped"
N=$(wc -c < "$W/wrapped")
openssl enc -aes-256-ctr -K "$ENC_KEY" -iv "$IV" -in "$W/plain" -out "$W/ct"
{ printf '\x01'; cat "$W/keyid"; hex2bin "$(printf '%04x' "$N")"; cat "$W/wrapped"; hex2bin "$IV"; cat "$W/ct"; } > "$W/body"
{ printf '%s\0' "$LABEL"; cat "$W/body"; } | openssl mac -digest SHA256 -macopt hexkey:"$MAC_KEY" -binary HMAC > "$W/tag"
cat "$W/body" "$W/tag" | openssl base64 -A
echo
