package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/configs"
)

// file is what ReadSection reads of a YAML file: its kpis section; the
// profile's or template's own keys are read by its collector.
type file struct {
	KPIs Section `yaml:"kpis"`
}

// ReadSection returns the kpis section of a profile, template or
// definitions file (nil if it has none); source names the file in errors.
func ReadSection(data []byte, source string) (Section, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: kpis: %w", source, err)
	}
	return f.KPIs, nil
}

// ReadFS returns the kpis sections of the *.yaml files of fsys, in file
// name order.
func ReadFS(fsys fs.FS, dir string) ([]Section, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	slices.Sort(names)
	var out []Section
	var errs []error
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", path.Join(dir, n), err))
			continue
		}
		sec, err := ReadSection(data, path.Join(dir, n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sec)
	}
	return out, errors.Join(errs...)
}

// Builtin returns the built-in catalog: the kpis sections of the shipped
// SNMP profiles, REST templates and configs/kpis. An error is a defect
// of a shipped file; tests hold it to none.
func Builtin() (*Catalog, error) {
	var all []Section
	for _, src := range []struct {
		fsys fs.FS
		dir  string
	}{{configs.KPIDefinitions(), "configs/kpis"}, {configs.SNMPProfiles(), "configs/snmp"}, {configs.RESTTemplates(), "configs/rest"}} {
		secs, err := ReadFS(src.fsys, src.dir)
		if err != nil {
			return nil, fmt.Errorf("built-in KPI definitions: %w", err)
		}
		all = append(all, secs...)
	}
	c, err := New(Strict, all...)
	if err != nil {
		return nil, fmt.Errorf("built-in KPI definitions: %w", err)
	}
	return c, nil
}
