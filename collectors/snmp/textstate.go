package snmp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Text states: a status column whose device value is text ("OK",
// "Normal", "Degraded", "RaidSet Member") rather than an enumeration
// number. The column's text_states maps each text, compared without
// regard to case and surrounding spaces, to the number the KPI catalog
// defines as the field's state; text_default is the number for any other
// text. Without text_default an unknown text gives no value and an error
// naming it, so that the profile's map can be extended.
//
//	- name: eurostor_disk_state
//	  oid: 1.3.6.1.4.1.14752.1.3.3.1.4.1.8
//	  kind: gauge
//	  text_states: {raidset member: 1, hot spare: 2, failed: 3}
//	  text_default: 0

// validateTextStates checks text_states and text_default and builds the
// lowercased map the engine reads.
func (c *Column) validateTextStates() error {
	if len(c.TextStates) == 0 {
		if c.TextDefault != nil {
			return errors.New("text_default: only with text_states")
		}
		return nil
	}
	var errs []error
	if c.Kind != KindGauge {
		errs = append(errs, errors.New("text_states: only for gauges"))
	}
	if c.Format != "" && c.Format != "text" {
		errs = append(errs, fmt.Errorf("text_states: format %q: the value is read as text", c.Format))
	}
	c.textStates = make(map[string]float64, len(c.TextStates))
	for _, text := range slices.Sorted(maps.Keys(c.TextStates)) {
		key := normText(text)
		if key == "" {
			errs = append(errs, errors.New("text_states: an empty text"))
			continue
		}
		if _, dup := c.textStates[key]; dup {
			errs = append(errs, fmt.Errorf("text_states: %q appears twice (texts are compared without case)", text))
			continue
		}
		c.textStates[key] = float64(c.TextStates[text])
	}
	return errors.Join(errs...)
}

// textState returns the state number of a text value.
func (c *Column) textState(p gosnmp.SnmpPDU) (float64, error) {
	text := toText(p, "")
	if n, ok := c.textStates[normText(text)]; ok {
		return n, nil
	}
	if c.TextDefault != nil {
		return float64(*c.TextDefault), nil
	}
	return 0, fmt.Errorf("%s (%s): text %q is none of text_states", c.Name, p.Name, text)
}

// normText is the form texts are compared in: lowercase, inner runs of
// space as one, no surrounding space (agents pad texts).
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
