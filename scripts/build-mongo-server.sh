#!/usr/bin/env bash
# Builds the tests' MongoDB-wire server (test/mongo-server: mongo-java-server's memory
# backend behind a small launcher) with Maven, which resolves its dependencies into its
# cache once. A build newer than its sources is reused.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../test/mongo-server" && pwd)"
jar="$dir/target/twofold-test-mongo-server-1.jar"
if [[ -f "$jar" && -z "$(find "$dir/pom.xml" "$dir/src" -newer "$jar" -print -quit)" ]]; then
  echo "mongo test server: up to date at $jar"
  exit 0
fi
command -v java >/dev/null 2>&1 || { echo "mongo test server: Java 17 is needed (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "mongo test server: Maven is needed (apt-get install maven)" >&2; exit 1; }
mvn -q -B -Dstyle.color=never -f "$dir/pom.xml" package
echo "mongo test server: built at $jar"
