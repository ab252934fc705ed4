#!/bin/sh
# {{.Name}} package: before the files are unpacked (deb: install|upgrade,
# rpm: 1 install, 2 upgrade). Creates the kpilot system user and group, so
# that the packaged files get their owner. Shared by kpilot-agent and
# kpilot-server; neither package removes them (Debian policy: a system
# user may still own files).
set -e

if ! getent group kpilot >/dev/null 2>&1; then
	groupadd --system kpilot
fi
if ! getent passwd kpilot >/dev/null 2>&1; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid kpilot --home-dir {{.StateDir}} --no-create-home \
		--shell "$nologin" --comment "kpilot agent and server" kpilot
fi
exit 0
