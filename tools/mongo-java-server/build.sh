#!/usr/bin/env bash
# Builds clover's fallback test MongoDB wire server (mongo-java-server with its in-memory backend,
# see README.md) into tools/mongo-java-server/.bin/clover-mongo-java-server.jar. Does nothing when
# the jar is newer than its sources. Needs Java >= 17, Maven and Maven Central (build time only).
set -euo pipefail
cd "$(dirname "$0")"
jar=.bin/clover-mongo-java-server.jar
if [ -f "$jar" ] && [ -z "$(find pom.xml build.sh src -newer "$jar" 2>/dev/null)" ]; then
  exit 0
fi
command -v java >/dev/null 2>&1 || { echo "tools/mongo-java-server: Java is not installed (needs Java >= 17)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "tools/mongo-java-server: Maven (mvn) is not installed" >&2; exit 1; }
mkdir -p .bin
# Maven writes into a build directory of its own under .bin (so .gitignore covers it), and the jar
# is renamed into place: two builds at once never leave a half-written jar.
out="$(mktemp -d .bin/build.XXXXXX)"
trap 'rm -rf "$out"' EXIT
mvn -B -q "-Dclover.build.dir=$PWD/$out" package >&2
cp "$out/clover-mongo-java-server.jar" "$jar.tmp.$$"
mv -f "$jar.tmp.$$" "$jar"
