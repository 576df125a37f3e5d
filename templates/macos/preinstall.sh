#!/bin/sh
# Preinstall script of package {{ identifier }} {{ version }}, built by agentpack for policy
# {{ policy }}: writes deploy.properties to the target volume before the vendor package installs.
# macOS Installer runs it as root with $1 = package path, $2 = install location and
# $3 = target volume mount point ("/" for the boot volume); a non-zero exit fails the install.
# Every value below is a single-quoted shell word: nothing in it is evaluated.
set -u
me='agentpack preinstall'
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
org={{ organization | sh }}
{% include "macos/write-properties.sh" %}
volume=${3:-}
[ -n "$volume" ] || fail "no target volume: argument 3 is empty"
# Only folders below the volume are created: a volume that is not mounted is an error, not a
# folder to make on the boot disk.
[ -d "$volume" ] || fail "the target volume $volume (argument 3) is not an existing folder"
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
content={{ content | sh }}
write_properties "${volume%/}"{{ dir | sh }} {{ file | sh }}
exit 0
