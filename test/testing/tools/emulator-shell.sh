#!/usr/bin/env bash
# The documented two-line workflow (docs/cli.md#emulator), then curl and Python
# google-auth in the sourced shell. Usage: emulator-shell.sh BIN ENV_FILE TLS_URL
set -u
bin="$1" env_file="$2" outside="$3"
home_before="$HOME"
"${NODE:-node}" "$bin" emulator --write-env "$env_file" >/dev/null 2>&1 &
emulator=$!
for _ in $(seq 600); do [ -s "$env_file" ] && break; sleep 0.1; done; . "$env_file"

service=$(sed -n 's/^# a private Cloud Run service that echoes requests: //p' "$env_file")
key_file=$(sed -n "s/^# credential files: GOOGLE_APPLICATION_CREDENTIALS='\([^']*\)' or '\([^']*\)'$/\1/p" "$env_file")
user_file=$(sed -n "s/^# credential files: GOOGLE_APPLICATION_CREDENTIALS='\([^']*\)' or '\([^']*\)'$/\2/p" "$env_file")

echo "home_kept=$([ "$HOME" = "$home_before" ] && echo yes || echo no)"
echo "metadata_root=${GCE_METADATA_ROOT:-}"
id_token=$(curl -fsS -H 'Metadata-Flavor: Google' \
  "http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/identity?audience=$service")
echo "curl_metadata_id=$?"
echo "curl_service_status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $id_token" "$service")"
access=$(curl -fsS -H 'Metadata-Flavor: Google' \
  "http://$GCE_METADATA_ROOT/computeMetadata/v1/instance/service-accounts/default/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
# Google's auth host through the proxy: intercepted, trusted through CURL_CA_BUNDLE
echo "curl_tokeninfo_status=$(curl -s -o /dev/null -w '%{http_code}' "https://oauth2.googleapis.com/tokeninfo?access_token=$access")"
# any other host through the same proxy: tunnelled untouched (--noproxy '' sends loopback through it too)
echo "curl_other_host=$(curl -s -k --noproxy '' "$outside"; echo " exit=$?")"
echo "python_current=$(python3 test/testing/tools/google_auth_check.py "$service" "$key_file" "$user_file" 2>&1 | tail -1)"
echo "python_debian=$(/usr/bin/python3 test/testing/tools/google_auth_check.py "$service" "$key_file" "$user_file" 2>&1 | tail -1)"
# gcloud reads GCE_METADATA_ROOT (checked where gcloud is installed)
if command -v gcloud >/dev/null; then
  echo "gcloud_id_token=$(gcloud auth print-identity-token 2>/dev/null | cut -c1-3)"
fi
kill -INT "$emulator"; wait "$emulator"
echo "env_file_removed=$([ -e "$env_file" ] && echo no || echo yes)"
