//go:build !gosnmp_nodebug

package snmp

// GosnmpDebugCompiled reports whether gosnmp's per-packet debug logging is
// compiled in. kpilot never installs a gosnmp logger, yet with it compiled
// in gosnmp formats every packet it sends and boxes every value it logs:
// about 10% of the collector's CPU. Releases and `make build` use the
// gosnmp_nodebug build tag; the benchmark warns without it.
const GosnmpDebugCompiled = true
