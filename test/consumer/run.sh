#!/usr/bin/env bash
# Consumer test (CI, `npm run test:consumer`): build and `npm pack` the package,
# install the tarball into a fresh project with the README's install line (taken from
# README.md, so the two cannot drift; only `effect-adc` is replaced by the tarball's
# path), then: one copy of `effect`, an ESM program and a CommonJS `require` against
# the emulator, the type-check of every entry point under `nodenext` and `bundler`,
# and the `effect-adc` bin (the CLI bundle `npm pack` builds, run without @effect/cli).
# Needs the npm registry. Any failure exits non-zero.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/test/consumer"
node=$(cd "$root" && npx --no-install node -p process.execPath) # the project's Node (>= 22: require(esm))
tsc="$root/node_modules/typescript/bin/tsc"
work=$(mktemp -d "${TMPDIR:-/tmp}/effect-adc-consumer-XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf 'consumer: %s\n' "$*"; }

line=$(sed -n '/^## Install/,/^## /p' "$root/README.md" | grep -m1 '^npm install effect-adc ' || true)
[ -n "$line" ] || { echo "consumer: README.md has no 'npm install effect-adc …' line under '## Install'" >&2; exit 1; }

cd "$root"
[ "${CONSUMER_SKIP_BUILD:-}" = 1 ] || { step "npm run build"; npm run build --silent; }
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n1)"
step "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB)"

mkdir "$work/app" && cd "$work/app"
printf '{ "name": "consumer", "version": "0.0.0", "private": true }\n' > package.json
install=${line/npm install effect-adc /npm install $tarball }
step "${line}"
$install --no-audit --no-fund --loglevel=error

copies=$(npm ls effect --all --parseable 2>/dev/null | sort -u | wc -l)
[ "$copies" = 1 ] || { npm ls effect --all >&2; echo "consumer: $copies copies of effect" >&2; exit 1; }
step "one copy of effect ($(node -p 'require("effect/package.json").version'))"
size=$(du -sm node_modules | cut -f1)
step "node_modules: ${size} MB"

cp "$here/app.mjs" "$here/app.cjs" "$here/app.ts" .
"$node" app.mjs
"$node" app.cjs

for resolution in nodenext bundler; do
  module=$([ "$resolution" = nodenext ] && echo nodenext || echo esnext)
  cat > "tsconfig.$resolution.json" <<JSON
{
  "compilerOptions": {
    "module": "$module", "moduleResolution": "$resolution", "target": "es2022", "lib": ["es2023", "dom"],
    "strict": true, "noEmit": true, "skipLibCheck": true, "types": [], "verbatimModuleSyntax": false
  },
  "files": ["app.ts"]
}
JSON
  "$node" "$tsc" -p "tsconfig.$resolution.json"
  step "type-checked under $resolution"
done

[ -f node_modules/effect-adc/dist/bin/effect-adc.mjs ] || { echo "consumer: the tarball has no CLI bundle (prepack: npm run build:cli)" >&2; exit 1; }
cp "$here/bin.mjs" .
"$node" bin.mjs
step "bin: the CLI bundle, without @effect/cli"
echo "consumer: ok"
