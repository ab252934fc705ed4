package redfish

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stmcginnis/gofish/schemas"

	"github.com/kpilot/kpilot/internal/kpi"
)

// The meaning of every field this file, inventory.go (drive) and
// events.go (health_event) emit is defined in configs/kpis/redfish.yaml,
// and in configs/kpis/common.yaml for the measurements SNMP profiles share
// (temperature, fan, power_supply, server_health): a new field needs its
// definition there, or TestMockupFieldsAreDefined fails.

// readings reads what changes: power state and health of every system,
// power, temperatures, fans and power supplies of the reading chassis.
// The older Power and Thermal resources are read where a chassis has
// them (two requests, thresholds included); the newer PowerSubsystem,
// ThermalSubsystem and EnvironmentMetrics otherwise.
func (c *collector) readings(f *fetcher, p *plan, now time.Time, report func(error)) []kpi.Sample {
	out := &sampleList{asset: c.target.Asset, now: now}
	var wg sync.WaitGroup
	for _, sys := range readAll[schemas.ComputerSystem](f, p.systems, report) {
		out.systemHealth(sys)
	}
	for _, ch := range p.chassis {
		if ch.power != "" {
			wg.Go(func() {
				var pw schemas.Power
				if _, err := read(f, ch.power, &pw, report); err != nil {
					report(err)
					return
				}
				out.legacyPower(ch.id, &pw)
			})
		} else {
			wg.Go(func() { c.newPower(f, ch, out, report) })
		}
		if ch.thermal != "" {
			wg.Go(func() {
				var th schemas.Thermal
				if _, err := read(f, ch.thermal, &th, report); err != nil {
					report(err)
					return
				}
				out.legacyThermal(ch.id, &th)
			})
		} else {
			wg.Go(func() { c.newThermal(f, ch, out, report) })
		}
	}
	wg.Wait()
	return out.samples
}

// newPower reads EnvironmentMetrics (power draw) and the PowerSubsystem's
// power supplies with their metrics.
func (c *collector) newPower(f *fetcher, ch chassisPlan, out *sampleList, report func(error)) {
	if ch.environment != "" {
		var env schemas.EnvironmentMetrics
		if _, err := read(f, ch.environment, &env, report); err != nil {
			report(err)
		} else {
			fields := map[string]any{}
			putF(fields, "consumed_watts", env.PowerWatts.Reading)
			out.add("power", map[string]string{"chassis": ch.id}, fields)
			for _, fan := range env.FanSpeedsPercent {
				fields := map[string]any{}
				putF(fields, "speed_percent", fan.Reading)
				putF(fields, "rpm", fan.SpeedRPM)
				out.add("fan", map[string]string{"chassis": ch.id, "sensor": sensorName(fan.DeviceName, fan.DataSourceURI)}, fields)
			}
		}
	}
	if ch.powerSubsystem == "" {
		return
	}
	var sub schemas.PowerSubsystem
	l, err := read(f, ch.powerSubsystem, &sub, report)
	if err != nil {
		report(err)
		return
	}
	if sub.CapacityWatts != nil {
		out.add("power", map[string]string{"chassis": ch.id}, map[string]any{"capacity_watts": *sub.CapacityWatts})
	}
	var wg sync.WaitGroup
	for _, u := range readCollection[schemas.PowerSupplyUnit](f, l.PowerSupplies.first(), report) {
		if u.v.Status.State == schemas.AbsentState {
			continue
		}
		fields := map[string]any{}
		putHealth(fields, u.v.Status)
		putF(fields, "capacity_watts", u.v.PowerCapacityWatts)
		tags := map[string]string{"chassis": ch.id, "psu": u.v.ID}
		if m := u.links.Metrics.first(); m != "" {
			wg.Go(func() {
				var pm psuMetrics
				if _, err := read(f, m, &pm, report); err != nil {
					report(err)
				} else {
					putF(fields, "input_watts", pm.InputPowerWatts.Reading)
					putF(fields, "output_watts", pm.OutputPowerWatts.Reading)
					putF(fields, "input_volts", pm.InputVoltage.Reading)
				}
				out.add("power_supply", tags, fields)
			})
			continue
		}
		out.add("power_supply", tags, fields)
	}
	wg.Wait()
}

// psuMetrics is the part of PowerSupplyMetrics the collector reads.
type psuMetrics struct {
	schemas.Entity
	InputPowerWatts  schemas.SensorPowerExcerpt
	OutputPowerWatts schemas.SensorPowerExcerpt
	InputVoltage     schemas.SensorVoltageExcerpt
}

// newThermal reads ThermalMetrics (all temperatures in one document;
// thresholds come from the Sensor resources read on inventory runs) and,
// without EnvironmentMetrics, the fans.
func (c *collector) newThermal(f *fetcher, ch chassisPlan, out *sampleList, report func(error)) {
	if ch.thermalSubsystem == "" {
		return
	}
	var sub schemas.ThermalSubsystem
	l, err := read(f, ch.thermalSubsystem, &sub, report)
	if err != nil {
		report(err)
		return
	}
	if m := l.ThermalMetrics.first(); m != "" {
		var tm schemas.ThermalMetrics
		if _, err := read(f, m, &tm, report); err != nil {
			report(err)
		} else {
			for _, t := range tm.TemperatureReadingsCelsius {
				if t.Reading == nil {
					continue
				}
				fields := map[string]any{"celsius": *t.Reading}
				c.mu.Lock()
				th, ok := c.thresholds[t.DataSourceURI]
				c.mu.Unlock()
				if ok {
					th.put(fields)
				}
				tags := map[string]string{"chassis": ch.id, "sensor": sensorName(t.DeviceName, t.DataSourceURI)}
				if t.PhysicalContext != "" {
					tags["context"] = string(t.PhysicalContext)
				}
				out.add("temperature", tags, fields)
			}
		}
	}
	if ch.environment == "" {
		for _, fan := range readCollection[schemas.Fan](f, l.Fans.first(), report) {
			fields := map[string]any{}
			putHealth(fields, fan.v.Status)
			putF(fields, "speed_percent", fan.v.SpeedPercent.Reading)
			putF(fields, "rpm", fan.v.SpeedPercent.SpeedRPM)
			out.add("fan", map[string]string{"chassis": ch.id, "sensor": firstNonEmpty(fan.v.Name, fan.v.ID)}, fields)
		}
	}
}

// thresholds of a temperature sensor, from its Sensor resource.
type thresholds struct{ warning, critical, fatal *float64 }

func (t thresholds) put(fields map[string]any) {
	putF(fields, "upper_warning_celsius", t.warning)
	putF(fields, "upper_critical_celsius", t.critical)
	putF(fields, "upper_fatal_celsius", t.fatal)
}

// readThresholds reads the Sensor resources behind the temperature
// readings of ThermalMetrics (on inventory runs: thresholds rarely change).
func (c *collector) readThresholds(f *fetcher, p *plan, report func(error)) map[string]thresholds {
	var sensors []string
	for _, ch := range p.chassis {
		if ch.thermal != "" || ch.thermalSubsystem == "" {
			continue
		}
		var sub schemas.ThermalSubsystem
		l, err := read(f, ch.thermalSubsystem, &sub, report)
		if err != nil {
			report(err)
			continue
		}
		var tm schemas.ThermalMetrics
		if _, err := read(f, l.ThermalMetrics.first(), &tm, report); err != nil {
			report(err)
			continue
		}
		for _, t := range tm.TemperatureReadingsCelsius {
			if t.DataSourceURI != "" && len(sensors) < maxThresholdSensors {
				sensors = append(sensors, t.DataSourceURI)
			}
		}
	}
	out := map[string]thresholds{}
	add := func(s item[schemas.Sensor]) {
		th := s.v.Thresholds
		out[s.path] = thresholds{warning: th.UpperCaution.Reading, critical: th.UpperCritical.Reading, fatal: th.UpperFatal.Reading}
	}
	// With $expand a chassis' sensors come in one request; otherwise (or
	// for sensors of other chassis) one by one.
	if f.expand.Load() {
		for _, ch := range p.chassis {
			if ch.thermal == "" && ch.sensors != "" {
				ms, err := f.members(ch.sensors)
				if err != nil {
					report(err)
				}
				var inline []member
				for _, m := range ms {
					if m.body != nil {
						inline = append(inline, m)
					}
				}
				for _, s := range readMembers[schemas.Sensor](f, inline, report) {
					add(s)
				}
			}
		}
	}
	sensors = slices.DeleteFunc(sensors, func(s string) bool { _, ok := out[s]; return ok })
	for _, s := range readAll[schemas.Sensor](f, sensors, report) {
		add(s)
	}
	return out
}

// maxThresholdSensors bounds the Sensor resources read for thresholds.
const maxThresholdSensors = 256

// sampleList collects the samples of one run; add is safe for
// concurrent use.
type sampleList struct {
	asset   string
	now     time.Time
	mu      sync.Mutex
	samples []kpi.Sample
}

func (l *sampleList) add(measurement string, tags map[string]string, fields map[string]any) {
	if len(fields) == 0 {
		return
	}
	for k, v := range tags {
		if v == "" {
			delete(tags, k)
		}
	}
	l.mu.Lock()
	l.samples = append(l.samples, kpi.Sample{Asset: l.asset, Measurement: measurement, Tags: tags, Fields: fields, Time: l.now})
	l.mu.Unlock()
}

// systemHealth adds power state and health of one system, with iLO's
// aggregate health per subsystem where the BMC has it.
func (l *sampleList) systemHealth(sys item[schemas.ComputerSystem]) {
	v := sys.v
	fields := map[string]any{}
	if v.PowerState != "" {
		fields["power_state"] = string(v.PowerState)
		fields["powered_on"] = v.PowerState == schemas.OnPowerState
	}
	putHealth(fields, v.Status)
	if code, ok := healthCode(v.Status.HealthRollup); ok {
		fields["health_rollup_code"] = code
	}
	var oem oemHPE
	if len(v.OEM) > 0 && json.Unmarshal(v.OEM, &oem) == nil {
		for part, raw := range oem.Hpe.AggregateHealthStatus {
			var x struct{ Status schemas.Status }
			if json.Unmarshal(raw, &x) != nil {
				continue
			}
			if code, ok := healthCode(x.Status.Health); ok {
				if name := hpeHealthParts[part]; name != "" {
					fields[name+"_health_code"] = code
				}
			}
		}
	}
	l.add("server_health", map[string]string{"system": v.ID}, fields)
}

// hpeHealthParts names iLO's AggregateHealthStatus members.
var hpeHealthParts = map[string]string{
	"BiosOrHardwareHealth": "bios_hardware", "Fans": "fans", "Memory": "memory", "Network": "network",
	"PowerSupplies": "power_supplies", "Processors": "processors", "SmartStorageBattery": "storage_battery",
	"Storage": "storage", "Temperatures": "temperatures",
}

func (l *sampleList) legacyPower(chassis string, pw *schemas.Power) {
	for i, pc := range pw.PowerControl {
		fields := map[string]any{}
		putF32(fields, "consumed_watts", pc.PowerConsumedWatts)
		putF32(fields, "capacity_watts", pc.PowerCapacityWatts)
		putF32(fields, "average_watts", pc.PowerMetrics.AverageConsumedWatts)
		putF32(fields, "min_watts", pc.PowerMetrics.MinConsumedWatts)
		putF32(fields, "max_watts", pc.PowerMetrics.MaxConsumedWatts)
		tags := map[string]string{"chassis": chassis}
		if i > 0 { // more than one power domain: tell them apart
			tags["domain"] = firstNonEmpty(pc.MemberID, pc.Name)
		}
		l.add("power", tags, fields)
	}
	for i, ps := range pw.PowerSupplies {
		if ps.Status.State == schemas.AbsentState {
			continue
		}
		fields := map[string]any{}
		putHealth(fields, ps.Status)
		putF32(fields, "output_watts", ps.LastPowerOutputWatts)
		putF32(fields, "input_watts", ps.PowerInputWatts)
		putF32(fields, "capacity_watts", ps.PowerCapacityWatts)
		putF32(fields, "input_volts", ps.LineInputVoltage)
		l.add("power_supply", map[string]string{"chassis": chassis, "psu": firstNonEmpty(ps.MemberID, ps.Name, itoa(i))}, fields)
	}
}

func (l *sampleList) legacyThermal(chassis string, th *schemas.Thermal) {
	for i, t := range th.Temperatures {
		if t.Status.State == schemas.AbsentState || t.ReadingCelsius == nil {
			continue
		}
		fields := map[string]any{"celsius": *t.ReadingCelsius}
		putF(fields, "upper_warning_celsius", t.UpperThresholdNonCritical)
		putF(fields, "upper_critical_celsius", t.UpperThresholdCritical)
		putF(fields, "upper_fatal_celsius", t.UpperThresholdFatal)
		putHealth(fields, t.Status)
		tags := map[string]string{"chassis": chassis, "sensor": firstNonEmpty(t.Name, t.MemberID, itoa(i))}
		if t.PhysicalContext != "" {
			tags["context"] = string(t.PhysicalContext)
		}
		l.add("temperature", tags, fields)
	}
	for i, fan := range th.Fans {
		if fan.Status.State == schemas.AbsentState {
			continue
		}
		fields := map[string]any{}
		putHealth(fields, fan.Status)
		if fan.Reading != nil {
			if strings.EqualFold(string(fan.ReadingUnits), "Percent") {
				fields["speed_percent"] = float64(*fan.Reading)
			} else {
				fields["rpm"] = float64(*fan.Reading)
			}
		}
		l.add("fan", map[string]string{"chassis": chassis, "sensor": firstNonEmpty(fan.Name, fan.FanName, fan.MemberID, itoa(i))}, fields)
	}
}

func putHealth(fields map[string]any, st schemas.Status) {
	if code, ok := healthCode(st.Health); ok {
		fields["health_code"] = code
	}
}

func putF(fields map[string]any, name string, v *float64) {
	if v != nil {
		fields[name] = *v
	}
}

func putF32(fields map[string]any, name string, v *float32) {
	if v != nil {
		fields[name] = float64(*v)
	}
}

// sensorName is the device name of a sensor excerpt, or the last segment
// of its source URI.
func sensorName(device, uri string) string {
	if device != "" {
		return device
	}
	return path.Base(uri)
}

func itoa(i int) string { return strconv.Itoa(i) }
