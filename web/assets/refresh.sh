#!/usr/bin/env bash
# Refresh the vendored front-end assets under web/static/ from npm.
# Run from the repository root: `make assets` (or `bash web/assets/refresh.sh`).
set -euo pipefail

GOVUK_FRONTEND_VERSION=6.3.0   # matches PyPI govuk-frontend-jinja 4.1.0
SASS_VERSION=1.108.2
HTMX_VERSION=2.0.11

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
entry=web/assets/ifss.scss
govuk_out=web/static/govuk
htmx_out=web/static/htmx
[ -f "$entry" ] || { echo "refresh.sh: $entry not found" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "Installing govuk-frontend@$GOVUK_FRONTEND_VERSION sass@$SASS_VERSION htmx.org@$HTMX_VERSION in $tmp"
# A package.json of its own keeps npm from adopting a parent directory as the project.
printf '{"private": true}\n' > "$tmp/package.json"
(cd "$tmp" && npm install --no-audit --no-fund \
  "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION" "htmx.org@$HTMX_VERSION")

dist="$tmp/node_modules/govuk-frontend/dist/govuk"
stage="$tmp/stage"
mkdir -p "$stage/govuk" "$stage/htmx"

# Stylesheet: system font stack, no GDS Transport @font-face, images under /static/govuk/assets/.
"$tmp/node_modules/.bin/sass" --load-path="$tmp/node_modules" \
  --style=compressed --no-source-map --quiet-deps \
  "$entry" "$stage/govuk/govuk-frontend.min.css"
css="$stage/govuk/govuk-frontend.min.css"
if [ "$(wc -c < "$css")" -lt 100000 ]; then
  echo "refresh.sh: $css is suspiciously small" >&2; exit 1
fi
if grep -q "GDS Transport" "$css" || grep -q "fonts/" "$css"; then
  echo "refresh.sh: stylesheet still refers to GDS Transport or fonts/" >&2; exit 1
fi

# JavaScript (ES module); the source map is not vendored, so drop its reference.
sed 's|//# sourceMappingURL=govuk-frontend\.min\.js\.map||' \
  "$dist/govuk-frontend.min.js" > "$stage/govuk/govuk-frontend.min.js"
grep -q "initAll" "$stage/govuk/govuk-frontend.min.js"

# No images, manifest or fonts: they are the GOV.UK crown, crest and typeface, which a
# council must not use (the pages use the Generic header and their own icon).

# The npm package ships no licence file (package.json says "license": "MIT");
# this is LICENSE.txt from github.com/alphagov/govuk-frontend.
cat > "$stage/govuk/LICENSE.txt" <<'LICENSE'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE

cat > "$stage/govuk/VERSION" <<VERSION
govuk-frontend $GOVUK_FRONTEND_VERSION
Built by web/assets/refresh.sh (make assets) from the npm package govuk-frontend@$GOVUK_FRONTEND_VERSION.
govuk-frontend.min.css: compiled from web/assets/ifss.scss with sass@$SASS_VERSION
  (--style=compressed --no-source-map): system font stack instead of GDS Transport,
  no GDS Transport @font-face, \$govuk-assets-path "/static/govuk/assets/".
govuk-frontend.min.js: dist/govuk/govuk-frontend.min.js (ES module), sourceMappingURL comment removed.
assets/: none (GOV.UK's crown, crest and GDS Transport are for gov.uk only).
VERSION

# htmx
cp "$tmp/node_modules/htmx.org/dist/htmx.min.js" "$stage/htmx/htmx.min.js"
cp "$tmp/node_modules/htmx.org/LICENSE" "$stage/htmx/LICENSE"

# Replace the vendored directories only once everything above succeeded.
mkdir -p web/static
rm -rf "$govuk_out" "$htmx_out"
cp -R "$stage/govuk" "$govuk_out"
cp -R "$stage/htmx" "$htmx_out"

echo "Vendored:"
find "$govuk_out" "$htmx_out" -type f | sort
