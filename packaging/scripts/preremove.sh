#!/bin/sh
# {{.Name}} package: before the files are removed (deb: remove|upgrade|
# deconfigure; rpm: 0 erase, 1 upgrade). Stops and disables the service
# when the package goes away, not on an upgrade.
set -e

case "$1" in
remove|0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	systemctl disable --now {{.Name}}.service >/dev/null 2>&1 || true
fi
exit 0
