package collectors

import "github.com/kpilot/kpilot/internal/catalog"

// KPIDefiner is a Config whose entry reads profiles or templates of the
// user's own (an SNMP entry's profiles_dir, a REST entry's
// templates_dir). The agent sends what they define to the server, which
// knows only the built-in definitions otherwise.
type KPIDefiner interface {
	// KPIDefinitions returns the kpis sections of the user's own profiles
	// or templates the entry uses, after Validate; none of the built-in
	// ones. Nil when it uses none.
	KPIDefinitions() []catalog.Section
}
