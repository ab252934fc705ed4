#!/bin/sh
# {{.Name}} package: after the files are in place (deb: configure
# [old-version]; rpm: 1 install, 2 upgrade). Reloads systemd; on an upgrade
# restarts the service if it runs. A first install does not start it: the
# config needs the server's address and the agent an enrollment first.
set -e

case "$1" in
configure)
	[ -n "$2" ] && upgrade=1 || upgrade=
	;;
1) upgrade= ;;
2) upgrade=1 ;;
*) exit 0 ;;
esac

# Files the package owns keep their mode; a config kept from an earlier
# version is brought to the same owner and mode (it may hold secrets).
chown root:kpilot /etc/kpilot {{.Config}}
chmod 0750 /etc/kpilot
chmod 0640 {{.Config}}
chown kpilot:kpilot {{.StateDir}}
chmod 0700 {{.StateDir}}

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ -n "$upgrade" ]; then
		systemctl try-restart {{.Name}}.service >/dev/null 2>&1 || true
	fi
fi

if [ -z "$upgrade" ]; then
	cat <<'MSG'
{{.Next}}
MSG
fi
exit 0
