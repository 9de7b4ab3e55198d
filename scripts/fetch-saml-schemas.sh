#!/usr/bin/env bash
# The SAML 2.0 metadata schema for the tests, from Maven Central: the OpenSAML 2 jars
# carry the OASIS schemas and the W3C ones they import. Prints the classpath.
set -euo pipefail
repo="${MAVEN_REPO:-$HOME/.m2/repository}"
jars=("org/opensaml/opensaml/2.6.4/opensaml-2.6.4.jar" "org/opensaml/xmltooling/1.4.4/xmltooling-1.4.4.jar")
for artifact in org.opensaml:opensaml:2.6.4 org.opensaml:xmltooling:1.4.4; do
  path="$repo/$(echo "$artifact" | awk -F: '{gsub(/\./,"/",$1); print $1"/"$2"/"$3"/"$2"-"$3".jar"}')"
  [[ -f "$path" ]] || mvn -q dependency:get -Dartifact="$artifact" -Dtransitive=false >&2
done
printf '%s:%s\n' "$repo/${jars[0]}" "$repo/${jars[1]}"
