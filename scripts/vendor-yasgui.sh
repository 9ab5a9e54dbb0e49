#!/usr/bin/env bash
# Vendor the YASGUI SPARQL editor from the npm registry into server/static/vendor/yasgui/.
#
#   scripts/vendor-yasgui.sh [VERSION]     (default: the version in use, 4.6.2)
#
# Copies only the two minified files the query page loads (the bundle carries its own
# dependencies), unchanged, and writes VERSION (provenance and checksums), LICENSE and
# THIRD-PARTY.txt (the declared licence of every package in the bundle's dependency tree).
# Needs npm; nothing is left in the repository but those five files.
set -euo pipefail

version="${1:-4.6.2}"
package="@zazuko/yasgui"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/server/static/vendor/yasgui"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "$package@$version")"
tar -xzf "$tarball"
integrity="$(npm view "$package@$version" dist.integrity)"
licence="$(node -p 'require("./package/package.json").license')"
author="$(node -p 'require("./package/package.json").author')"

mkdir -p "$dest"
rm -f "$dest"/*
cp package/build/yasgui.min.js package/build/yasgui.min.css "$dest/"

# The licences of the dependency tree, from an install that runs no package scripts.
mkdir deps
(
  cd deps
  npm init -y >/dev/null
  npm install --silent --no-audit --no-fund --ignore-scripts "$package@$version" >/dev/null
  node -e '
    const fs = require("fs"), path = require("path");
    const rows = [];
    const walk = (dir) => {
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith(".")) continue;
        const full = path.join(dir, name);
        if (name.startsWith("@")) { walk(full); continue; }
        const file = path.join(full, "package.json");
        if (!fs.existsSync(file)) continue;
        const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
        const licence = typeof pkg.license === "string" ? pkg.license : "not declared in package.json";
        rows.push(`${pkg.name}@${pkg.version}\t${licence}`);
      }
    };
    walk("node_modules");
    console.log(rows.sort().join("\n"));
  ' >"$dest/THIRD-PARTY.txt.rows"
)
{
  echo "Packages in the dependency tree of $package@$version as npm resolved it when vendored,"
  echo "with the licence each declares. yasgui.min.js bundles the ones it uses; their licence"
  echo "texts are in the packages on the npm registry."
  echo
  cat "$dest/THIRD-PARTY.txt.rows"
} >"$dest/THIRD-PARTY.txt"
rm "$dest/THIRD-PARTY.txt.rows"

cat >"$dest/LICENSE" <<LICENCE
$package $version is published under the $licence licence (package.json "license"),
author $author, contributors Zazuko GmbH. The package ships no licence file; these are the
terms of that licence.

MIT License

Copyright (c) Triply and the YASGUI contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENCE

cat >"$dest/VERSION" <<VERSION
$package $version
source: the npm registry, \`npm pack $package@$version\` (dist.integrity $integrity)
files: build/yasgui.min.js and build/yasgui.min.css of the package, unchanged
sha256 yasgui.min.js: $(sha256sum "$dest/yasgui.min.js" | cut -d' ' -f1)
sha256 yasgui.min.css: $(sha256sum "$dest/yasgui.min.css" | cut -d' ' -f1)
licence: $licence (see LICENSE); bundled dependencies: see THIRD-PARTY.txt
reproduce: scripts/vendor-yasgui.sh $version
VERSION

echo "vendored $package@$version into ${dest#"$root"/}"
