// Package all imports every built-in collector so that it registers itself.
package all

import (
	_ "github.com/kpilot/kpilot/collectors/redfish" // Redfish BMCs
	_ "github.com/kpilot/kpilot/collectors/rest"    // vendor REST APIs (backup, storage)
	_ "github.com/kpilot/kpilot/collectors/snmp"    // SNMP v1/v2c/v3
)
