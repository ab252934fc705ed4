package redfish

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmcginnis/gofish/schemas"

	"github.com/kpilot/kpilot/internal/kpi"
)

// serviceRoot is the part of /redfish/v1 the collector uses.
type serviceRoot struct {
	ProtocolFeaturesSupported struct {
		ExpandQuery struct{ NoLinks, Levels bool }
	}
	RedfishVersion string
	Vendor         string
	Product        string
	UUID           string
}

// plan is what an inventory run found and every run reads again.
type plan struct {
	systems []string      // ComputerSystem paths
	chassis []chassisPlan // chassis with power and thermal readings
	logs    []logPlan     // log services whose entries are health events
	drives  []string      // drive paths (health is read on inventory runs)
}

type chassisPlan struct {
	id, path                                      string
	power, thermal                                string // the older resources
	powerSubsystem, thermalSubsystem, environment string // the newer ones
	sensors                                       string // Sensor collection (thresholds)
}

type logPlan struct {
	id      string // for example "IML"
	entries string // path of the entry collection
}

// inventoryRun reads the whole tree: identity, processors, memory,
// storage, adapters, power supplies, firmware, and the readings. It
// returns the inventory, the plan for the readings of later runs, and the
// samples (readings and drive health).
func (c *collector) inventoryRun(f *fetcher, now time.Time, report func(error)) (*kpi.Inventory, *plan, []kpi.Sample, error) {
	var root serviceRoot
	rl, err := read(f, "/redfish/v1", &root, report)
	if err != nil {
		return nil, nil, nil, err
	}
	f.expand.Store(c.cfg.Expand && root.ProtocolFeaturesSupported.ExpandQuery.NoLinks &&
		root.ProtocolFeaturesSupported.ExpandQuery.Levels)
	inv := &inventoryBuilder{attrs: map[string]any{}, comps: map[string][]map[string]any{}}
	inv.set("redfish_version", root.RedfishVersion)

	var wg sync.WaitGroup
	var systems []item[schemas.ComputerSystem]
	var chassis []item[schemas.Chassis]
	var managers []item[schemas.Manager]
	var firmware []item[schemas.SoftwareInventory]
	wg.Go(func() { systems = readCollection[schemas.ComputerSystem](f, rl.Systems.first(), report) })
	wg.Go(func() { chassis = readCollection[schemas.Chassis](f, rl.Chassis.first(), report) })
	wg.Go(func() { managers = readCollection[schemas.Manager](f, rl.Managers.first(), report) })
	wg.Go(func() {
		if us := rl.UpdateService.first(); us != "" {
			var svc schemas.UpdateService
			if l, err := read(f, us, &svc, report); err != nil {
				report(err)
			} else {
				firmware = readCollection[schemas.SoftwareInventory](f, l.FirmwareInventory.first(), report)
			}
		}
	})
	wg.Wait()
	if len(systems) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no computer system could be read (see the errors before)", f.b.endpoint)
	}

	p := &plan{}
	for _, sys := range systems {
		p.systems = append(p.systems, sys.path)
	}
	// The readings of this run go along with the rest of the inventory:
	// a BMC answers slowly, so the requests in flight should never run dry.
	// The systems' parts are asked for first, while the reading chassis
	// are probed.
	var drives []item[schemas.Drive]
	var mu sync.Mutex
	for _, sys := range systems {
		wg.Go(func() {
			d := c.systemParts(f, inv, sys, p, &mu, report)
			mu.Lock()
			drives = append(drives, d...)
			mu.Unlock()
		})
	}
	p.chassis = c.resolveChassis(f, readingChassis(systems, chassis))
	var readings []kpi.Sample
	wg.Go(func() {
		th := c.readThresholds(f, p, report)
		c.mu.Lock()
		c.thresholds = th
		c.mu.Unlock()
		readings = c.readings(f, p, now, report)
	})
	main := map[string]bool{}
	for _, cp := range p.chassis {
		main[cp.path] = cp.has(powerKind)
	}
	for _, ch := range chassis {
		wg.Go(func() {
			d := c.chassisParts(f, inv, ch, main[ch.path], report)
			mu.Lock()
			drives = append(drives, d...)
			mu.Unlock()
		})
	}
	wg.Wait()

	identity(inv, systems, chassis, managers)
	for _, fw := range firmware {
		v := fw.v
		inv.add("firmware", map[string]any{"id": v.ID, "name": v.Name, "version": v.Version,
			"manufacturer": v.Manufacturer, "updateable": v.Updateable, "health": string(v.Status.Health)})
	}
	samples := append(readings, c.driveParts(inv, drives, now, p)...)
	inv.sortComponents()
	inv.totals()
	inv.attrs["category"] = "server" // a BMC speaks for a server
	return &kpi.Inventory{Asset: c.target.Asset, Time: now, Attributes: inv.attrs, Components: inv.comps}, p, samples, nil
}

// systemParts reads one system's processors, memory, storage and logs.
func (c *collector) systemParts(f *fetcher, inv *inventoryBuilder, sys item[schemas.ComputerSystem],
	p *plan, mu *sync.Mutex, report func(error)) []item[schemas.Drive] {
	var wg sync.WaitGroup
	var drives []item[schemas.Drive]
	wg.Go(func() {
		for _, cpu := range readCollection[schemas.Processor](f, sys.links.Processors.first(), report) {
			v := cpu.v
			if v.Status.State == schemas.AbsentState {
				continue
			}
			inv.add("processors", map[string]any{"id": v.ID, "system": sys.v.ID, "socket": v.Socket,
				"type": string(v.ProcessorType), "manufacturer": strings.TrimSpace(v.Manufacturer),
				"model": strings.TrimSpace(v.Model), "cores": opt(v.TotalCores), "threads": opt(v.TotalThreads),
				"max_speed_mhz": opt(v.MaxSpeedMHz), "serial": v.SerialNumber, "health": string(v.Status.Health)})
		}
	})
	wg.Go(func() {
		for _, m := range readCollection[schemas.Memory](f, sys.links.Memory.first(), report) {
			v := m.v
			// An empty slot some BMCs list without saying so has no
			// capacity; one whose capacity could not be read is kept (the
			// partial error names it) and counted.
			if v.Status.State == schemas.AbsentState || deref(v.CapacityMiB) == 0 && !droppedProperty(m.dropped, "CapacityMiB") {
				continue
			}
			loc := v.DeviceLocator
			if loc == "" {
				loc = v.Location.PartLocation.ServiceLabel
			}
			inv.add("memory", map[string]any{"id": v.ID, "system": sys.v.ID, "locator": loc,
				"capacity_bytes": optBytes(v.CapacityMiB), "type": string(v.MemoryDeviceType),
				"memory_type": string(v.MemoryType), "speed_mhz": opt(v.OperatingSpeedMhz),
				"manufacturer": strings.TrimSpace(v.Manufacturer), "part_number": strings.TrimSpace(v.PartNumber),
				"serial": v.SerialNumber, "health": string(v.Status.Health)})
		}
	})
	wg.Go(func() {
		for _, st := range readCollection[schemas.Storage](f, sys.links.Storage.first(), report) {
			ctls := st.v.StorageControllers
			if len(ctls) == 0 { // Redfish 2020.3 and later: a Controllers collection
				for _, x := range readCollection[schemas.StorageController](f, st.links.Controllers.first(), report) {
					ctls = append(ctls, *x.v)
				}
			}
			for _, ctl := range ctls {
				inv.add("storage_controllers", map[string]any{"id": firstNonEmpty(ctl.ID, st.v.ID), "system": sys.v.ID,
					"storage": st.v.ID, "name": firstNonEmpty(ctl.Name, st.v.Name), "manufacturer": ctl.Manufacturer,
					"model": ctl.Model, "serial": ctl.SerialNumber, "firmware": ctl.FirmwareVersion,
					"health": string(ctl.Status.Health)})
			}
			d := readAll[schemas.Drive](f, st.links.Drives, report)
			mu.Lock()
			drives = append(drives, d...)
			mu.Unlock()
		}
	})
	if c.cfg.Events {
		wg.Go(func() {
			for _, ls := range readCollection[schemas.LogService](f, sys.links.LogServices.first(), report) {
				if e := ls.links.Entries.first(); e != "" {
					mu.Lock()
					p.logs = append(p.logs, logPlan{id: sys.v.ID + "/" + ls.v.ID, entries: e})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return drives
}

// chassisParts reads a chassis' network adapters and drives attached to
// the chassis itself, and for the main chassis (see readingChassis) the
// power supplies: inner modules have none of their own.
func (c *collector) chassisParts(f *fetcher, inv *inventoryBuilder, ch item[schemas.Chassis], main bool, report func(error)) []item[schemas.Drive] {
	var wg sync.WaitGroup
	var drives []item[schemas.Drive]
	wg.Go(func() {
		for _, na := range readCollection[schemas.NetworkAdapter](f, ch.links.NetworkAdapters.first(), report) {
			v := na.v
			fw := ""
			if len(v.Controllers) > 0 {
				fw = v.Controllers[0].FirmwarePackageVersion
			}
			inv.add("network_adapters", map[string]any{"id": v.ID, "chassis": ch.v.ID, "name": v.Name,
				"manufacturer": v.Manufacturer, "model": v.Model, "serial": v.SerialNumber,
				"part_number": v.PartNumber, "firmware": fw, "health": string(v.Status.Health)})
		}
	})
	wg.Go(func() {
		if !main {
			return
		}
		if ch.links.Power.first() != "" {
			var pw schemas.Power
			if _, err := read(f, ch.links.Power.first(), &pw, report); err != nil {
				report(err)
				return
			}
			for _, ps := range pw.PowerSupplies {
				if ps.Status.State == schemas.AbsentState {
					continue
				}
				inv.add("power_supplies", map[string]any{"id": firstNonEmpty(ps.MemberID, ps.Name), "chassis": ch.v.ID,
					"name": ps.Name, "manufacturer": strings.TrimSpace(ps.Manufacturer), "model": strings.TrimSpace(ps.Model),
					"serial": strings.TrimSpace(ps.SerialNumber), "firmware": ps.FirmwareVersion,
					"capacity_watts": optF32(ps.PowerCapacityWatts), "health": string(ps.Status.Health)})
			}
			return
		}
		if ps := ch.links.PowerSubsystem.first(); ps != "" {
			var sub schemas.PowerSubsystem
			l, err := read(f, ps, &sub, report)
			if err != nil {
				report(err)
				return
			}
			for _, u := range readCollection[schemas.PowerSupplyUnit](f, l.PowerSupplies.first(), report) {
				v := u.v
				if v.Status.State == schemas.AbsentState {
					continue
				}
				inv.add("power_supplies", map[string]any{"id": v.ID, "chassis": ch.v.ID, "name": v.Name,
					"manufacturer": v.Manufacturer, "model": v.Model, "serial": v.SerialNumber,
					"firmware": v.FirmwareVersion, "capacity_watts": opt(v.PowerCapacityWatts), "health": string(v.Status.Health)})
			}
		}
	})
	wg.Go(func() {
		if d := ch.links.Drives.first(); d != "" && len(ch.links.Drives) == 1 && !strings.Contains(d, "/Drives/") {
			drives = readCollection[schemas.Drive](f, d, report)
		}
	})
	wg.Wait()
	return drives
}

// driveParts adds the drives (each once, a drive may be linked from a
// storage subsystem and a chassis) and returns their health samples.
func (c *collector) driveParts(inv *inventoryBuilder, drives []item[schemas.Drive], now time.Time, p *plan) []kpi.Sample {
	seen := map[string]bool{}
	var samples []kpi.Sample
	for _, d := range drives {
		if seen[d.path] {
			continue
		}
		seen[d.path] = true
		v := d.v
		if v.Status.State == schemas.AbsentState {
			continue
		}
		p.drives = append(p.drives, d.path)
		inv.add("drives", map[string]any{"id": v.ID, "name": v.Name, "manufacturer": strings.TrimSpace(v.Manufacturer),
			"model": strings.TrimSpace(v.Model), "serial": strings.TrimSpace(v.SerialNumber),
			"capacity_bytes": opt(v.CapacityBytes), "media": string(v.MediaType), "protocol": string(v.Protocol),
			"firmware": firstNonEmpty(v.Revision, v.FirmwareVersion), "health": string(v.Status.Health),
			"failure_predicted": v.FailurePredicted})
		fields := map[string]any{"failure_predicted": v.FailurePredicted}
		if code, ok := healthCode(v.Status.Health); ok {
			fields["health_code"] = code
		}
		if v.PredictedMediaLifeLeftPercent != nil {
			fields["life_left_percent"] = *v.PredictedMediaLifeLeftPercent
		}
		samples = append(samples, kpi.Sample{Asset: c.target.Asset, Measurement: "drive", Time: now,
			Tags: map[string]string{"drive": strings.TrimPrefix(d.path, "/redfish/v1/")}, Fields: fields})
	}
	return samples
}

// identity sets the asset's scalar facts from its primary system (the
// first one listed), its chassis and its BMC.
func identity(inv *inventoryBuilder, systems []item[schemas.ComputerSystem], chassis []item[schemas.Chassis], managers []item[schemas.Manager]) {
	sys := systems[0].v
	inv.set("manufacturer", strings.TrimSpace(sys.Manufacturer))
	inv.set("model", strings.TrimSpace(sys.Model))
	inv.set("sku", strings.TrimSpace(sys.SKU))
	inv.set("serial", strings.TrimSpace(sys.SerialNumber))
	inv.set("part_number", strings.TrimSpace(sys.PartNumber))
	inv.set("uuid", sys.UUID)
	inv.set("bios_version", sys.BiosVersion)
	inv.set("hostname", sys.HostName)
	inv.set("asset_tag", strings.TrimSpace(sys.AssetTag))
	inv.set("system_type", string(sys.SystemType))
	for _, ch := range chassis {
		if len(ch.links.Links.ContainedBy) == 0 {
			inv.set("chassis_type", string(ch.v.ChassisType))
			if inv.attrs["serial"] == nil {
				inv.set("serial", strings.TrimSpace(ch.v.SerialNumber))
			}
			break
		}
	}
	if len(managers) > 0 {
		m := managers[0].v
		inv.set("bmc_manufacturer", m.Manufacturer)
		inv.set("bmc_model", m.Model)
		inv.set("bmc_firmware", m.FirmwareVersion)
	}
	// Summaries as the BMC states them; totals() fills in from the parts
	// where a BMC leaves them out.
	var mem float64
	var cpus uint
	for _, s := range systems {
		mem += deref(s.v.MemorySummary.TotalSystemMemoryGiB)
		cpus += deref(s.v.ProcessorSummary.Count)
	}
	if mem > 0 {
		inv.attrs["memory_bytes"] = int64(mem * (1 << 30))
	}
	if cpus > 0 {
		inv.attrs["cpu_count"] = int64(cpus)
	}
	inv.set("cpu_model", strings.TrimSpace(sys.ProcessorSummary.Model))
}

// readingChassis picks the chassis whose power and thermal resources are
// read every run: those of the systems and the outermost enclosures.
// Inner modules (drive cages, risers, GPU boards) are summed up by these;
// each picked chassis comes with the chassis inside it, which
// resolveChassis reads instead where it cannot be read itself.
func readingChassis(systems []item[schemas.ComputerSystem], chassis []item[schemas.Chassis]) []*chassisNode {
	want := map[string]bool{}
	for _, s := range systems {
		for _, l := range s.links.Links.Chassis {
			want[l] = true
		}
	}
	byPath := map[string]item[schemas.Chassis]{}
	inner := map[string][]string{} // chassis path → the chassis inside it, in collection order
	add := func(outer, in string) {
		if outer != in && !slices.Contains(inner[outer], in) {
			inner[outer] = append(inner[outer], in)
		}
	}
	for _, ch := range chassis {
		byPath[ch.path] = ch
	}
	for _, ch := range chassis {
		for _, in := range ch.links.Links.Contains {
			if _, ok := byPath[in]; ok {
				add(ch.path, in)
			}
		}
		for _, out := range ch.links.Links.ContainedBy {
			add(out, ch.path)
		}
	}
	var node func(ch item[schemas.Chassis], depth int, above []string) *chassisNode
	node = func(ch item[schemas.Chassis], depth int, above []string) *chassisNode {
		n := &chassisNode{plan: chassisPlan{id: ch.v.ID, path: ch.path, power: ch.links.Power.first(), thermal: ch.links.Thermal.first(),
			powerSubsystem: ch.links.PowerSubsystem.first(), thermalSubsystem: ch.links.ThermalSubsystem.first(),
			environment: ch.links.EnvironmentMetrics.first(), sensors: ch.links.Sensors.first()}}
		if depth >= maxChassisDepth {
			return n
		}
		above = append(above, ch.path)
		for _, p := range inner[ch.path] {
			if in, ok := byPath[p]; ok && !slices.Contains(above, p) {
				if x := node(in, depth+1, above); x.readable() {
					n.inner = append(n.inner, x)
				}
			}
		}
		return n
	}
	var out []*chassisNode
	for _, ch := range chassis {
		switch {
		case want[ch.path]:
		case len(ch.links.Links.ContainedBy) > 0:
			continue // inside another chassis
		case slices.Contains([]schemas.ChassisType{"Module", "Component", "Card"}, ch.v.ChassisType):
			continue // a part that lists itself on top (Supermicro's CPLDs)
		}
		if n := node(ch, 0, nil); n.readable() {
			out = append(out, n)
		}
	}
	return out
}

// maxChassisDepth bounds how deep chassis inside chassis are followed.
const maxChassisDepth = 4

// chassisNode is a chassis with readings resources of its own or inside.
type chassisNode struct {
	plan  chassisPlan
	inner []*chassisNode // the chassis inside it that have readings
}

func (n *chassisNode) readable() bool { return n.plan.has(powerKind|thermalKind) || len(n.inner) > 0 }

// readingKind is power or thermal readings (a bit set).
type readingKind int

const (
	powerKind readingKind = 1 << iota
	thermalKind
)

func (k readingKind) String() string {
	if k == powerKind {
		return "power"
	}
	return "thermal"
}

// resources are the resources of kind k that readings reads first: the
// older Power or Thermal where the chassis has it, the newer ones
// otherwise.
func (cp chassisPlan) resources(k readingKind) []string {
	var out []string
	if k&powerKind != 0 {
		if cp.power != "" {
			out = append(out, cp.power)
		} else {
			out = appendNonEmpty(out, cp.environment, cp.powerSubsystem)
		}
	}
	if k&thermalKind != 0 {
		out = appendNonEmpty(out, cmp.Or(cp.thermal, cp.thermalSubsystem))
	}
	return out
}

func (cp chassisPlan) has(k readingKind) bool { return len(cp.resources(k)) > 0 }

// only returns cp with the resources of kind k alone.
func (cp chassisPlan) only(k readingKind) chassisPlan {
	if k&powerKind == 0 {
		cp.power, cp.powerSubsystem, cp.environment = "", "", ""
	}
	if k&thermalKind == 0 {
		cp.thermal, cp.thermalSubsystem, cp.sensors = "", "", ""
	}
	return cp
}

func appendNonEmpty(list []string, s ...string) []string {
	for _, x := range s {
		if x != "" {
			list = append(list, x)
		}
	}
	return list
}

// resolveChassis makes the plan of reading chassis: each picked chassis
// whose power or thermal readings can be read (or that has none of one
// kind, but nothing inside it has either); for a kind that it lacks or
// whose resources all fail (a rack-mount chassis whose Thermal answers
// 404 while the board inside it has the sensors), the chassis inside it
// that have that kind, resolved the same way. The probes are this poll's
// first requests for those resources, so the readings that follow read
// them from the fetcher's cache. A failure the inner chassis stand in for
// is not an error: every reading is read.
func (c *collector) resolveChassis(f *fetcher, nodes []*chassisNode) []chassisPlan {
	res := make([][]chassisPlan, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { res[i] = c.resolve(f, n, powerKind|thermalKind) })
	}
	wg.Wait()
	// A chassis may stand in for one kind and be read for another, or
	// appear inside two picked ones: one entry per chassis.
	var out []chassisPlan
	at := map[string]int{}
	for _, list := range res {
		for _, cp := range list {
			i, ok := at[cp.path]
			if !ok {
				at[cp.path] = len(out)
				out = append(out, cp)
				continue
			}
			o := &out[i]
			o.power, o.thermal = cmp.Or(o.power, cp.power), cmp.Or(o.thermal, cp.thermal)
			o.powerSubsystem, o.thermalSubsystem = cmp.Or(o.powerSubsystem, cp.powerSubsystem), cmp.Or(o.thermalSubsystem, cp.thermalSubsystem)
			o.environment, o.sensors = cmp.Or(o.environment, cp.environment), cmp.Or(o.sensors, cp.sensors)
		}
	}
	return out
}

// resolve returns the chassis that provide the readings of kinds for n.
func (c *collector) resolve(f *fetcher, n *chassisNode, kinds readingKind) []chassisPlan {
	keep := kinds
	var failed []readingKind
	for _, k := range []readingKind{powerKind, thermalKind} {
		if kinds&k != 0 && len(n.inner) > 0 && !anyReadable(f, n.plan.resources(k)) {
			failed = append(failed, k)
		}
	}
	var out []chassisPlan
	for _, k := range failed {
		var stand []chassisPlan
		for _, in := range n.inner {
			stand = append(stand, c.resolve(f, in, k)...)
		}
		if len(stand) == 0 {
			continue // nothing inside has it: the chassis' own error is reported
		}
		keep &^= k
		c.log.Debug("redfish: readings from the chassis inside", "chassis", n.plan.path, "kind", k, "unread", n.plan.resources(k))
		out = append(out, stand...)
	}
	if own := n.plan.only(keep); own.has(keep) {
		out = append([]chassisPlan{own}, out...)
	}
	return out
}

// anyReadable reports whether one of the resources at paths can be read
// (requests in parallel; none when paths is empty).
func anyReadable(f *fetcher, paths []string) bool {
	var ok atomic.Bool
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			if _, err := f.raw(p); err == nil {
				ok.Store(true)
			}
		})
	}
	wg.Wait()
	return ok.Load()
}

// inventoryBuilder collects attributes and components; add is safe for
// concurrent use.
type inventoryBuilder struct {
	mu    sync.Mutex
	attrs map[string]any
	comps map[string][]map[string]any
}

// set records a non-empty text attribute.
func (b *inventoryBuilder) set(name, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	b.mu.Lock()
	b.attrs[name] = v
	b.mu.Unlock()
}

// add records a component, without its empty values.
func (b *inventoryBuilder) add(kind string, c map[string]any) {
	for k, v := range c {
		switch x := v.(type) {
		case string:
			if strings.TrimSpace(x) == "" {
				delete(c, k)
			}
		case nil:
			delete(c, k)
		}
	}
	b.mu.Lock()
	b.comps[kind] = append(b.comps[kind], c)
	b.mu.Unlock()
}

// sortComponents orders components by id, so that inventories of the same
// configuration compare equal whatever order requests finished in.
func (b *inventoryBuilder) sortComponents() {
	for _, list := range b.comps {
		slices.SortStableFunc(list, func(x, y map[string]any) int {
			return strings.Compare(fmt.Sprint(x["system"], x["chassis"], x["id"]), fmt.Sprint(y["system"], y["chassis"], y["id"]))
		})
	}
}

// totals derives counts and sums from the components.
func (b *inventoryBuilder) totals() {
	var cpus, gpus, cores, threads int64
	for _, p := range b.comps["processors"] {
		switch p["type"] {
		case "GPU":
			gpus++
		case nil, "CPU":
			cpus++
			cores += toInt(p["cores"])
			threads += toInt(p["threads"])
			if b.attrs["cpu_model"] == nil {
				if m, ok := p["model"].(string); ok {
					b.attrs["cpu_model"] = m
				}
			}
		}
	}
	if b.attrs["cpu_count"] == nil && cpus > 0 {
		b.attrs["cpu_count"] = cpus
	}
	if cores > 0 {
		b.attrs["cpu_cores"] = cores
	}
	if threads > 0 {
		b.attrs["cpu_threads"] = threads
	}
	if gpus > 0 {
		b.attrs["gpu_count"] = gpus
	}
	var dimmBytes int64
	for _, m := range b.comps["memory"] {
		dimmBytes += toInt(m["capacity_bytes"])
	}
	if len(b.comps["memory"]) > 0 {
		b.attrs["dimm_count"] = int64(len(b.comps["memory"]))
	}
	if b.attrs["memory_bytes"] == nil && dimmBytes > 0 {
		b.attrs["memory_bytes"] = dimmBytes
	}
	var driveBytes int64
	for _, d := range b.comps["drives"] {
		driveBytes += toInt(d["capacity_bytes"])
	}
	if n := len(b.comps["drives"]); n > 0 {
		b.attrs["drive_count"] = int64(n)
		b.attrs["drive_bytes"] = driveBytes
	}
	if n := len(b.comps["power_supplies"]); n > 0 {
		b.attrs["power_supply_count"] = int64(n)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case uint:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// opt returns *p, or nil (left out of a component) when p is nil.
func opt[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// optBytes is a capacity in MiB in bytes, or nil when it is unknown.
func optBytes(mib *int) any {
	if mib == nil {
		return nil
	}
	return int64(*mib) << 20
}

func optF32(p *float32) any {
	if p == nil {
		return nil
	}
	return float64(*p)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return strings.TrimSpace(x)
		}
	}
	return ""
}

// healthCode maps Redfish health to a number for dashboards and alerts:
// 0 OK, 1 Warning, 2 Critical.
func healthCode(h schemas.Health) (int64, bool) {
	switch strings.ToLower(string(h)) {
	case "ok":
		return 0, true
	case "warning":
		return 1, true
	case "critical":
		return 2, true
	}
	return 0, false
}

// oemHPE is the part of iLO's OEM section of a ComputerSystem with the
// aggregate health the standard properties lack.
type oemHPE struct {
	Hpe struct {
		AggregateHealthStatus map[string]json.RawMessage
	}
}
