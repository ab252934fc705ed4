// Package configs holds the files shipped in configs/ that the programs
// also need at run time: the built-in SNMP profiles and REST templates.
package configs

import (
	"embed"
	"io/fs"
)

//go:embed snmp/*.yaml
var snmp embed.FS

// SNMPProfiles is the built-in set of SNMP profiles (configs/snmp/*.yaml).
func SNMPProfiles() fs.FS {
	sub, err := fs.Sub(snmp, "snmp")
	if err != nil {
		panic(err) // the embedded path is fixed at compile time
	}
	return sub
}

//go:embed rest/*.yaml
var rest embed.FS

// RESTTemplates is the built-in set of REST API templates
// (configs/rest/*.yaml).
func RESTTemplates() fs.FS {
	sub, err := fs.Sub(rest, "rest")
	if err != nil {
		panic(err) // the embedded path is fixed at compile time
	}
	return sub
}

//go:embed kpis/*.yaml
var kpis embed.FS

// KPIDefinitions is the built-in set of KPI definitions that no profile
// or template holds (configs/kpis/*.yaml): those of the Redfish mapping,
// the agent's own and the ones several profiles share.
func KPIDefinitions() fs.FS {
	sub, err := fs.Sub(kpis, "kpis")
	if err != nil {
		panic(err) // the embedded path is fixed at compile time
	}
	return sub
}
