#!/usr/bin/env bash
# Consumer test (CI, `npm run test:consumer`): build and `npm pack` the package,
# install the tarball into a fresh project with the README's install line (taken from
# README.md, so the two cannot drift; only `effect-adc` is replaced by the tarball's
# path), then: one copy of `effect`, an ESM program and a CommonJS `require` against
# the emulator, the type-check of every entry point under `nodenext` and `bundler`,
# and the `effect-adc` bin (the CLI bundle `npm pack` builds, run without @effect/cli);
# then the core install (the tarball alone, no optional peer): under 40 MB, no install
# scripts, one `effect`. Needs the npm registry. Any failure exits non-zero.
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

# One copy of `effect` (`npm ls` lists one installed path for it, the app's own).
one_effect() {
  local copies
  copies=$(npm ls effect --all --parseable 2>/dev/null | grep -c '/node_modules/effect$' || true)
  [ "$copies" = 1 ] || { npm ls effect --all >&2; echo "consumer: $copies copies of effect ($1)" >&2; exit 1; }
}
# `npm query SELECTOR` → one field of each package found, one per line (the root excluded).
query() {
  npm query "$1" | "$node" -e '
    let s = ""
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const found = JSON.parse(s).filter((p) => p.location !== "").map((p) => p[process.argv[1]])
      console.log([...new Set(found)].join("\n"))
    })' "$2"
}
with_scripts=':attr(scripts, [preinstall]), :attr(scripts, [install]), :attr(scripts, [postinstall])'
install_scripts() { query "$with_scripts" name | tr '\n' ' '; }
one_effect "README install"
step "one copy of effect ($(node -p 'require("effect/package.json").version'))"
size=$(du -sm node_modules | cut -f1)
step "node_modules: ${size} MB; install scripts: $(install_scripts)"

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

[ "$("$node" node_modules/.bin/effect-adc --version)" = "$("$node" -p 'require("effect-adc/package.json").version')" ]
[ -f node_modules/effect-adc/dist/bin/effect-adc.mjs ] || { echo "consumer: the tarball has no CLI bundle (prepack: npm run build:cli)" >&2; exit 1; }
cp "$here/bin.mjs" .
"$node" bin.mjs
step "bin: the CLI bundle, without @effect/cli"

# The core install: the tarball alone (npm adds its required peers `effect` and
# `@effect/platform`, no optional peer): one `effect`, and what effect-adc brings beside
# those peers (itself and google-auth-library's tree) is under 40 MB with no install
# script. The peers' own tree is reported: `effect` alone is ~34 MB, and
# `@effect/platform` brings msgpackr's optional native addon (an install script).
mkdir "$work/core" && cd "$work/core"
printf '{ "name": "core", "version": "0.0.0", "private": true }\n' > package.json
npm install "$tarball" --no-audit --no-fund --loglevel=error
one_effect "core install"
[ -d node_modules/@effect/platform ] || { echo "consumer: the core install lacks its peer @effect/platform" >&2; exit 1; }
for optional in @effect/platform-node @effect/cli @google/genai; do
  [ ! -e "node_modules/$optional" ] || { echo "consumer: the core install pulled the optional peer $optional" >&2; exit 1; }
done
peer_tree='#effect, #effect *, [name="@effect/platform"], [name="@effect/platform"] *'
ours=$(comm -23 <(query '*' location | sort) <(query "$peer_tree" location | sort))
mb() { du -skc "$@" | tail -n1 | awk '{ printf "%.1f", $1 / 1024 }'; }
total=$(mb node_modules)
own=$(mb $ours)
awk -v own="$own" 'BEGIN { exit !(own < 40) }' || {
  du -sk $ours | sort -rn | head >&2
  echo "consumer: effect-adc brings ${own} MB beside its peers (limit 40)" >&2
  exit 1
}
own_scripts=$(comm -12 <(query "$with_scripts" location | sort) <(printf '%s\n' $ours | sort) | tr '\n' ' ')
gyp=$(for dir in $ours; do [ -e "$dir/binding.gyp" ] && echo "$dir"; done || true)
[ -z "$own_scripts$gyp" ] || { echo "consumer: effect-adc's tree runs install scripts: $own_scripts $gyp" >&2; exit 1; }
# the core entry points load without any optional peer
"$node" --input-type=module -e '
  const core = await import("effect-adc")
  const model = await import("effect-adc/model")
  if (typeof core.AuthClient.make !== "function" || typeof model.ModelService.ModelService !== "function") process.exit(1)'
step "core install: ${total} MB in all, ${own} MB beside the peers' tree, no install script of ours (the peers': $(install_scripts)), one effect"
echo "consumer: ok"
