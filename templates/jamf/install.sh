#!/bin/sh
# Jamf Pro script built by agentpack for policy {{ policy }}: writes deploy.properties before
# the vendor package installs. Add it to the Jamf policy with priority "Before".
# Jamf runs it as root with $1 = target volume mount point, $2 = computer name, $3 = user name.
{% if params -%}
# Values come from the script parameters (an empty optional parameter takes the value this
# script was built with; each value is checked before anything is written):
{% for p in params -%}
#   Parameter {{ p.number }}: {{ p.label }}
{% endfor -%}
# This script holds no deployment token: pass it in its parameter.
{% else -%}
# Values are embedded as single-quoted shell words (nothing in them is evaluated).
# This script holds the deployment token: keep it private.
{% endif -%}
set -u
me='agentpack jamf'
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
org={{ organization | sh }}
{% include "macos/write-properties.sh" %}
volume=${1:-/}
# Only folders below the volume are created: a volume that is not mounted is an error, not a
# folder to make on the boot disk.
[ -d "$volume" ] || fail "the target volume $volume (argument 1) is not an existing folder"
{% if params -%}
{% raw -%}
nl='
'
content=
# add KEY VALUE: append one properties line.
add() { content=$content$1=$2$nl; }
# trim VALUE: VALUE without the spaces and tabs around it (a pasted value often has some).
trim() {
	t=$1
	while :; do
		case $t in
		[' 	']*) t=${t#?} ;;
		*[' 	']) t=${t%?} ;;
		*) break ;;
		esac
	done
	printf '%s' "$t"
}
# Printable ASCII but space and backslash: such a value needs no escape in deploy.properties.
printable='\041-\133\135-\176'
# only_chars NUMBER ALLOWED VALUE: fail unless VALUE holds only characters from the tr set ALLOWED.
only_chars() {
	# The trailing x keeps $(...) from dropping a newline left over in the value.
	rest=$(printf '%s' "$3" | LC_ALL=C tr -d "$2" && echo x)
	[ "$rest" = x ] || fail "parameter $1 holds a character that is not allowed"
}
# check NUMBER KIND VALUE
check() {
	case $2 in
	url)
		case $3 in https://?*) ;; *) fail "parameter $1 must be an https:// URL" ;; esac
		only_chars "$1" "$printable" "$3"
		;;
	proxy)
		case $3 in http://?* | https://?*) ;; *) fail "parameter $1 must be an http:// or https:// URL" ;; esac
		only_chars "$1" "$printable" "$3"
		;;
	token)
		case $3 in ????????-????-????-????-????????????) ;; *) fail "parameter $1 must be a UUID (8-4-4-4-12 hex digits)" ;; esac
		only_chars "$1" '0-9A-Fa-f-' "$3"
		;;
	hex)
		case ${#3} in 40 | 64) ;; *) fail "parameter $1 must be 40 or 64 hex digits" ;; esac
		only_chars "$1" '0-9A-Fa-f' "$3"
		;;
	bool)
		case $3 in true | false) ;; *) fail "parameter $1 must be true or false" ;; esac
		;;
	esac
}
{%- endraw %}
{% for p in params %}
{{ p.var }}=$(trim "{{ p.arg }}")
{%- if p.default and not p.required %}
if [ "{{ p.ref }}" = none ]; then
	log 'parameter {{ p.number }} is none: '{{ p.name | sh }}' is not set'
el{% else %}
{% endif -%}
if [ -n "{{ p.ref }}" ]; then
	check {{ p.number }} {{ p.kind }} "{{ p.ref }}"
{%- if p.kind == "hex" or p.kind == "token" %}
	{{ p.var }}=$(printf '%s' "{{ p.ref }}" | LC_ALL=C tr 'A-F' 'a-f')
{%- endif %}
	add {{ p.name | sh }} "{{ p.ref }}"
{%- if p.default %}
else
	# The value this script was built with, already escaped for deploy.properties.
	# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
	add {{ p.name | sh }} {{ p.default_escaped | sh }}
{%- elif p.required %}
else
	fail 'parameter {{ p.number }} is required:' {{ p.name | sh }}
{%- endif %}
fi
{%- endfor %}
{% else -%}
# shellcheck disable=SC2016 # literal on purpose: nothing in a value may expand
content={{ content | sh }}
{% endif -%}
write_properties "${volume%/}"{{ dir | sh }} {{ file | sh }}
exit 0
