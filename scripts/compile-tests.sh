#!/usr/bin/env bash
# Type-checks src/, scripts/ and test/ and compiles them into .build/, a mirror of the repository that node runs
# without a TypeScript loader. `npm test` runs the suite there: under tsx every test file and every server or script a
# test starts spent ~2 s of CPU loading the code through the loader's hooks (measured: a file importing src/app.ts,
# 2.7 s CPU with tsx, 0.8 s compiled), which on CI's two cores was a quarter of the whole run. `npx tap <file>` still
# runs one test from source through tsx.
set -euo pipefail
cd "$(dirname "$0")/.."
# .ci/run compiles once, then runs the suite on SQLite and on PostgreSQL side by side in the same .build.
if [ "${TESTS_COMPILED:-}" = 1 ] && [ -f .build/.taprc ]; then exit 0; fi
rm -rf .build/src .build/scripts .build/test
npx tsc -p tsconfig.build.json
# What the code reads beside itself, at the same relative places as in the repository.
for shared in consent-ui fhir-resources test-results; do
  [ -e "$shared" ] || mkdir -p "$shared"
  ln -sfn "../$shared" ".build/$shared"
done
cp src/example-app/app.css .build/src/example-app/app.css
# package.json without its "tap" settings (tap would warn that they are ignored): the module type and the version.
node -e 'const p = require("./package.json"); console.log(JSON.stringify({ name: p.name, version: p.version, private: true, type: p.type }))' > .build/package.json
# tap takes its settings from the nearest .taprc, so inside .build this file applies and package.json's "tap" (which
# runs the sources through tsx) does not.
cat > .build/.taprc <<'RC'
plugin:
  - "!@tapjs/typescript"
include:
  - "test/**/*.test.js"
jobs: 2
timeout: 600
allow-incomplete-coverage: true
disable-coverage: true
RC
