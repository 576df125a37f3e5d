#!/bin/sh
# Jamf Pro script built by agentpack for policy acme-test: writes deploy.properties before
# the vendor package installs. Add it to the Jamf policy with priority "Before".
# Jamf runs it as root with $1 = target volume mount point, $2 = computer name, $3 = user name.
# Values are embedded as single-quoted shell words (nothing in them is evaluated).
# This script holds the deployment token: keep it private.
set -u
me='agentpack jamf'
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
org='Acme Corp (test)'
log() { printf '%s: %s\n' "$me" "$*"; }
fail() {
	printf '%s: ERROR: %s\n' "$me" "$*" >&2
	if [ -n "${tmp:-}" ]; then rm -f "$tmp"; fi
	exit 1
}

# write_properties FOLDER FILE: write $content to FOLDER/FILE, owned by root, mode 0600.
# Written to a temporary file first and renamed, so the file is never seen half-written.
write_properties() {
	dir=$1
	dest=$1/$2
	if [ ! -d "$dir" ]; then
		(umask 022 && mkdir -p "$dir") || fail "cannot create the folder $dir"
		log "created the folder $dir"
	fi
	if [ -d "$dest" ] || [ -L "$dest" ]; then
		fail "$dest is a folder or a symbolic link; remove it first"
	fi
	tmp=$dest.agentpack.$$
	rm -f "$tmp" || fail "cannot remove $tmp"
	(umask 077 && printf '%s' "$content" >"$tmp") || fail "cannot write $tmp"
	chmod 600 "$tmp" || fail "cannot set mode 0600 on $tmp"
	if [ "$(id -u)" -eq 0 ]; then
		chown 0:0 "$tmp" || fail "cannot make root the owner of $tmp"
	else
		log "not running as root: $dest keeps the owner $(id -un)"
	fi
	mv -f "$tmp" "$dest" || fail "cannot rename $tmp to $dest"
	tmp=
	log "wrote $dest ($(wc -c <"$dest" | tr -d ' ') bytes, mode 0600) for $org"
}

volume=${1:-/}
# Only folders below the volume are created: a volume that is not mounted is an error, not a
# folder to make on the boot disk.
[ -d "$volume" ] || fail "the target volume $volume (argument 1) is not an existing folder"
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
content='DEPLOYMENT_URL=https://console.us2.crashplan.com
DEPLOYMENT_POLICY_TOKEN=3d5c3b1e-8f4a-4c2b-9e61-2a7f0c9d4b11
CP_SILENT=false
DEVICE_CLOAKED=false
'
write_properties "${volume%/}"'/Library/Application Support/CrashPlan' 'deploy.properties'
exit 0
