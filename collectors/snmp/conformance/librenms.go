package conformance

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Recording is what a .snmprec file holds, as far as comparability needs
// it: its OIDs and its string values, normalised.
type Recording struct {
	oids    map[string]bool
	strings []string
}

// ReadRecording reads an snmpsim recording (OID|TYPE|VALUE lines, the
// OID without a leading dot, type 4x an OCTET STRING in hex).
func ReadRecording(data []byte) Recording {
	r := Recording{oids: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		oid, rest, ok := strings.Cut(sc.Text(), "|")
		if !ok {
			continue
		}
		r.oids[oid] = true
		typ, val, _ := strings.Cut(rest, "|")
		if typ == "4x" {
			if b, err := hex.DecodeString(val); err == nil {
				val = string(b)
			}
		}
		if n := Normalize(val); n != "" {
			r.strings = append(r.strings, n)
		}
	}
	return r
}

// HasOID reports whether the recording holds oid (with or without a
// leading dot).
func (r Recording) HasOID(oid string) bool { return r.oids[strings.TrimPrefix(oid, ".")] }

// HasText reports whether s, normalised, occurs within a string value of
// the recording.
func (r Recording) HasText(s string) bool {
	n := Normalize(s)
	if n == "" {
		return false
	}
	for _, v := range r.strings {
		if strings.Contains(v, n) {
			return true
		}
	}
	return false
}

// librenms is the part of a LibreNMS test result (tests/data/<name>.json)
// the report reads. A module's poller part is an object when the poller
// found something else than discovery, else a string such as "matches
// discovery".
type librenms struct {
	OS struct {
		Discovery struct {
			Devices []struct {
				Hardware, Serial, Version *string
			}
		}
	}
	Sensors    module
	Mempools   module
	Processors module
	Storage    module
}

type module struct {
	Discovery, Poller json.RawMessage
}

// rows decodes the poller's part when it is an object, else the
// discovery's; nothing when neither is (a module LibreNMS found nothing
// for is [] or absent).
func (m module) rows(v any) error {
	for _, raw := range []json.RawMessage{m.Poller, m.Discovery} {
		if len(raw) > 0 && raw[0] == '{' {
			return json.Unmarshal(raw, v)
		}
	}
	return nil
}

type sensorRows struct {
	Sensors []struct {
		Class   string   `json:"sensor_class"`
		Descr   *string  `json:"sensor_descr"`
		OID     string   `json:"sensor_oid"`
		Current *float64 `json:"sensor_current"`
		State   *string  `json:"state_name"`
	}
	StateIndexes []struct {
		Name    string  `json:"state_name"`
		Value   float64 `json:"state_value"`
		Generic int     `json:"state_generic_value"`
	} `json:"state_indexes"`
}

// nonNegative are the sensor classes whose readings cannot be below zero.
var nonNegative = map[string]bool{"humidity": true, "charge": true, "load": true, "percent": true, "fanspeed": true,
	"count": true, "runtime": true, "delay": true, "frequency": true, "power_consumed": true, "power_factor": true}

// severities are LibreNMS's generic state values.
var severities = map[int]string{0: "ok", 1: "warning", 2: "critical", 3: "unknown"}

// Expected is what LibreNMS expects of a device, in comparable values,
// and per class the count of expected values that are not comparable.
type Expected struct {
	Values        []Value
	NotComparable map[string]int
}

// ReadExpected reads LibreNMS's expected result for a recording and
// keeps the values kpilot could read from it (docs/snmp.md, "Conformance
// report"):
//   - a sensor whose OID the recording holds and that has a value; a
//     state sensor also needs its state in LibreNMS's state table, and
//     its value is the state's severity; a value of -1 in a class that
//     cannot be negative (humidity, a count, a charge…) is the device's
//     "no reading" (APC, Liebert), which kpilot drops rather than
//     stores, so it is not a value to find;
//   - a processor whose OID the recording holds;
//   - a memory pool or volume with a size above zero (LibreNMS reads them
//     from tables, often computing the size from units and blocks, so
//     there is no single OID to check);
//   - a model, serial or version that occurs, normalised, within a string
//     of the recording (LibreNMS composes some, such as "Generic x86
//     64-bit" or "AOS v6.8.2 / App v6.8.0", which no device reports) and
//     is not redacted ("<private>").
func ReadExpected(data []byte, rec Recording) (Expected, error) {
	var doc librenms
	if err := json.Unmarshal(data, &doc); err != nil {
		return Expected{}, fmt.Errorf("reading LibreNMS result: %w", err)
	}
	e := Expected{NotComparable: map[string]int{}}
	add := func(comparable bool, v Value) {
		if comparable {
			e.Values = append(e.Values, v)
		} else {
			e.NotComparable[v.Class]++
		}
	}

	var sensors sensorRows
	if err := doc.Sensors.rows(&sensors); err != nil {
		return Expected{}, fmt.Errorf("reading sensors: %w", err)
	}
	if len(sensors.StateIndexes) == 0 {
		// A poller part may list the sensors without the state table.
		var disc sensorRows
		if len(doc.Sensors.Discovery) > 0 && doc.Sensors.Discovery[0] == '{' {
			if err := json.Unmarshal(doc.Sensors.Discovery, &disc); err != nil {
				return Expected{}, fmt.Errorf("reading sensors: %w", err)
			}
		}
		sensors.StateIndexes = disc.StateIndexes
	}
	type stateKey struct {
		name  string
		value float64
	}
	states := map[stateKey]string{}
	for _, s := range sensors.StateIndexes {
		states[stateKey{s.Name, s.Value}] = severities[s.Generic]
	}
	for _, s := range sensors.Sensors {
		v := Value{Class: s.Class, Descr: deref(s.Descr)}
		ok := s.Current != nil && rec.HasOID(s.OID) && !(*s.Current == -1 && nonNegative[s.Class])
		if ok {
			v.Num = *s.Current
		}
		if s.Class == ClassState {
			sev := ""
			if ok && s.State != nil {
				sev = states[stateKey{*s.State, *s.Current}]
			}
			v.Text, ok = sev, sev != ""
		}
		add(ok, v)
	}

	var pools struct {
		Mempools []struct {
			Descr string   `json:"mempool_descr"`
			Total *float64 `json:"mempool_total"`
			Used  *float64 `json:"mempool_used"`
		}
	}
	if err := doc.Mempools.rows(&pools); err != nil {
		return Expected{}, fmt.Errorf("reading mempools: %w", err)
	}
	for _, p := range pools.Mempools {
		ok := p.Total != nil && *p.Total > 0
		add(ok, Value{Class: ClassMempoolTotal, Descr: p.Descr, Num: deref(p.Total)})
		add(ok && p.Used != nil, Value{Class: ClassMempoolUsed, Descr: p.Descr, Num: deref(p.Used)})
	}

	var procs struct {
		Processors []struct {
			Descr string   `json:"processor_descr"`
			OID   string   `json:"processor_oid"`
			Usage *float64 `json:"processor_usage"`
		}
	}
	if err := doc.Processors.rows(&procs); err != nil {
		return Expected{}, fmt.Errorf("reading processors: %w", err)
	}
	for _, p := range procs.Processors {
		add(p.Usage != nil && rec.HasOID(p.OID), Value{Class: ClassProcessor, Descr: p.Descr, Num: deref(p.Usage)})
	}

	var storage struct {
		Storage []struct {
			Descr string   `json:"storage_descr"`
			Size  *float64 `json:"storage_size"`
			Used  *float64 `json:"storage_used"`
		}
	}
	if err := doc.Storage.rows(&storage); err != nil {
		return Expected{}, fmt.Errorf("reading storage: %w", err)
	}
	for _, s := range storage.Storage {
		ok := s.Size != nil && *s.Size > 0
		add(ok, Value{Class: ClassStorageSize, Descr: s.Descr, Num: deref(s.Size)})
		add(ok && s.Used != nil, Value{Class: ClassStorageUsed, Descr: s.Descr, Num: deref(s.Used)})
	}

	if devs := doc.OS.Discovery.Devices; len(devs) > 0 {
		for class, s := range map[string]*string{ClassModel: devs[0].Hardware, ClassSerial: devs[0].Serial, ClassVersion: devs[0].Version} {
			if t := strings.TrimSpace(deref(s)); t != "" {
				// "<private>" is the contributor's redaction, not the device's value.
				add(rec.HasText(t) && !strings.Contains(t, "<private>"), Value{Class: class, Descr: class, Text: t})
			}
		}
	}
	return e, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
