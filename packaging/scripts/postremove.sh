#!/bin/sh
# {{.Name}} package: after the files are removed (deb: remove|purge|upgrade
# ...; rpm: 0 erase, 1 upgrade). Purge (deb only) also deletes the state
# in {{.StateDir}}: {{.State}}. The config is a conffile: dpkg keeps it
# on remove and deletes it on purge; rpm keeps a changed one as .rpmsave.
set -e

case "$1" in
remove|0)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || true
	fi
	;;
purge)
	rm -rf {{.StateDir}}
	rmdir /etc/kpilot 2>/dev/null || true
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
