#!/usr/bin/env bash
# Starts trainyard-server on a loopback port, runs the Python client against
# it, stops the server. Usage: python_client_helper.sh SERVER_BINARY SOURCE_DIR
set -euo pipefail
server="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/project/data"
cat > "$work/project/config.yml" <<'YAML'
recipe: default.v1
language: en
assistant_id: py
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
policies:
  - name: MemoizationPolicy
YAML
cp "$source_dir/examples/moodbot/domain.yml" "$work/project/domain.yml"
cp "$source_dir/examples/moodbot/data/"*.yml "$work/project/data/"
"$server" --listen 127.0.0.1:0 --state-dir "$work/state" --port-file "$work/port" 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
/usr/bin/python3 "$source_dir/tests/server/python_client_test.py" "127.0.0.1:$(cat "$work/port")" \
  "$source_dir/proto" "$work/stubs" "$work/project"
