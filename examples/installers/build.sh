#!/usr/bin/env bash
# Rebuild the example installers. The MSI is built by wixl (Debian package wixl) from
# CrashPlan.wxs; wixl writes codepage 65001, which Windows Installer does not support, so the
# codepage is forced to 1252 afterwards (msibuild, package msitools).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wixl -a x64 -o CrashPlan_11.7.0_911_Win64.msi CrashPlan.wxs 2>/dev/null
printf '\r\n\r\n1252\t_ForceCodepage\r\n' > "$tmp/_ForceCodepage.idt"
msibuild CrashPlan_11.7.0_911_Win64.msi -i "$tmp/_ForceCodepage.idt"
msiinfo export CrashPlan_11.7.0_911_Win64.msi Property
