package redfish

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stmcginnis/gofish/schemas"
)

func TestDecodeDropsOnlyMistypedProperties(t *testing.T) {
	tests := []struct {
		name, doc string
		dropped   []string // substrings, one per dropped property
		check     func(t *testing.T, v *schemas.Thermal)
	}{
		{name: "clean", doc: `{"Id":"Thermal","Temperatures":[{"Name":"CPU","ReadingCelsius":40}]}`,
			check: func(t *testing.T, v *schemas.Thermal) {
				if *v.Temperatures[0].ReadingCelsius != 40 {
					t.Error("reading lost")
				}
			}},
		{name: "N/A reading", doc: `{"Temperatures":[{"Name":"CPU","ReadingCelsius":"N/A","UpperThresholdCritical":90}]}`,
			dropped: []string{`Temperatures[0].ReadingCelsius: "N/A" where a number belongs`},
			check: func(t *testing.T, v *schemas.Thermal) {
				if v.Temperatures[0].ReadingCelsius != nil || *v.Temperatures[0].UpperThresholdCritical != 90 || v.Temperatures[0].Name != "CPU" {
					t.Errorf("got %+v", v.Temperatures[0])
				}
			}},
		{name: "fraction in an integer", doc: `{"Fans":[{"Name":"Fan1","Reading":12.5,"ReadingUnits":"RPM"}]}`,
			dropped: []string{"Fans[0].Reading: number 12.5 where a whole number belongs"},
			check: func(t *testing.T, v *schemas.Thermal) {
				if v.Fans[0].Reading != nil || v.Fans[0].Name != "Fan1" {
					t.Errorf("got %+v", v.Fans[0])
				}
			}},
		{name: "number for text, text for object, object for list", doc: `{"Name":7,"Status":"OK","Temperatures":{"a":1},"Id":"T"}`,
			dropped: []string{"Name: number 7 where text belongs", `Status: "OK" where an object belongs`, "Temperatures: an object where a list belongs"},
			check: func(t *testing.T, v *schemas.Thermal) {
				if v.ID != "T" {
					t.Errorf("Id lost: %+v", v)
				}
			}},
		{name: "negative count", doc: `{"Temperatures":[{"Name":"x","SensorNumber":-1}]}`,
			check: func(t *testing.T, v *schemas.Thermal) {
				if *v.Temperatures[0].SensorNumber != -1 {
					t.Error("a negative int is valid for an int")
				}
			}},
		{name: "case-insensitive keys", doc: `{"temperatures":[{"readingcelsius":"hot"}]}`,
			dropped: []string{`temperatures[0].readingcelsius: "hot"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v schemas.Thermal
			dropped, err := decode([]byte(tt.doc), &v)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(dropped) != len(tt.dropped) {
				t.Fatalf("dropped %q, want %d like %q", dropped, len(tt.dropped), tt.dropped)
			}
			for _, want := range tt.dropped {
				if !strings.Contains(strings.Join(dropped, "\n"), want) {
					t.Errorf("dropped %q lacks %q", dropped, want)
				}
			}
			if tt.check != nil {
				tt.check(t, &v)
			}
		})
	}
}

func TestDecodeRefusesNonJSON(t *testing.T) {
	var v schemas.ComputerSystem
	for _, doc := range []string{`<html>502 Bad Gateway</html>`, `{"Id": "1",`, ``} {
		if _, err := decode([]byte(doc), &v); err == nil || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("decode(%q) = %v, want a not-JSON error", doc, err)
		}
	}
}

// FuzzDecode: any input either decodes or is refused; never a panic, and a
// document encoding/json accepts is decoded without dropping anything.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"Temperatures":[{"ReadingCelsius":"N/A"}]}`, `{"Status":{"Health":3}}`, `[]`, `null`,
		`{"Fans":[null,{"Reading":1e400}]}`, `{"Oem":{"x":[1,2]}}`, `{"Temperatures":"x","Fans":[[]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var strict schemas.Thermal
		strictErr := json.Unmarshal(b, &strict)
		var v schemas.Thermal
		dropped, err := decode(b, &v)
		if strictErr == nil && (err != nil || len(dropped) > 0) {
			t.Fatalf("valid document: dropped %q, err %v", dropped, err)
		}
	})
}
