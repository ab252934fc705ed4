//go:build gosnmp_nodebug

package snmp

// GosnmpDebugCompiled: see gosnmp_debug.go.
const GosnmpDebugCompiled = false
