package redfish

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stmcginnis/gofish/schemas"
	"github.com/stretchr/testify/require"
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
		// Power reads text as 0 where it should fail: decode checks it
		// even when it decodes, and changes nothing else.
		var lenientPower, p schemas.Power
		lenientErr := json.Unmarshal(b, &lenientPower)
		dropped, err = decode(b, &p)
		if lenientErr == nil && err == nil && len(dropped) == 0 && !reflect.DeepEqual(p, lenientPower) {
			t.Fatalf("nothing dropped, yet decoded differently:\n%+v\n%+v", p, lenientPower)
		}
	})
}

// TestDecodeNumbersGofishReadsAsZero: in types where gofish turns text
// into 0 (Power, Processor), text that is no number is dropped and named;
// what gofish reads right (a number as text, a number as MemberId, one
// PowerControl object for a list) is kept.
func TestDecodeNumbersGofishReadsAsZero(t *testing.T) {
	tests := []struct {
		name, doc string
		dropped   []string
		check     func(t *testing.T, v *schemas.Power)
	}{
		{name: "N/A watts", doc: `{"PowerSupplies":[{"MemberId":"0","LastPowerOutputWatts":"N/A","PowerCapacityWatts":800}]}`,
			dropped: []string{`PowerSupplies[0].LastPowerOutputWatts: "N/A" where a number belongs`},
			check: func(t *testing.T, v *schemas.Power) {
				require.Nil(t, v.PowerSupplies[0].LastPowerOutputWatts)
				require.Equal(t, float32(800), *v.PowerSupplies[0].PowerCapacityWatts)
			}},
		{name: "true as volts", doc: `{"Voltages":[{"ReadingVolts":true,"Name":"12V"}]}`,
			dropped: []string{`Voltages[0].ReadingVolts: true where a number belongs`},
			check: func(t *testing.T, v *schemas.Power) {
				require.Nil(t, v.Voltages[0].ReadingVolts)
				require.Equal(t, "12V", v.Voltages[0].Name)
			}},
		{name: "number as text, number as MemberId", doc: `{"PowerControl":[{"MemberId":0,"PowerConsumedWatts":"344.5"}]}`,
			check: func(t *testing.T, v *schemas.Power) {
				require.Equal(t, "0", v.PowerControl[0].MemberID)
				require.Equal(t, float32(344.5), *v.PowerControl[0].PowerConsumedWatts)
			}},
		{name: "one PowerControl object", doc: `{"PowerControl":{"MemberId":"0","PowerConsumedWatts":120}}`,
			check: func(t *testing.T, v *schemas.Power) {
				require.Len(t, v.PowerControl, 1)
				require.Equal(t, float32(120), *v.PowerControl[0].PowerConsumedWatts)
			}},
		{name: "no PowerControl (gofish fails on its own)", doc: `{"PowerSupplies":[{"MemberId":1,"LastPowerOutputWatts":120,"PowerInputWatts":"N/A"}]}`,
			dropped: []string{`PowerSupplies[0].PowerInputWatts: "N/A" where a number belongs`},
			check: func(t *testing.T, v *schemas.Power) {
				require.Equal(t, "1", v.PowerSupplies[0].MemberID)
				require.Equal(t, float32(120), *v.PowerSupplies[0].LastPowerOutputWatts)
				require.Nil(t, v.PowerSupplies[0].PowerInputWatts)
			}},
		{name: "a mistyped plain property as well", doc: `{"PowerControl":[{"MemberId":2,"PowerConsumedWatts":"N/A"}],"Name":7}`,
			dropped: []string{`Name: number 7 where text belongs`, `PowerControl[0].MemberId: number 2 where text belongs`, `PowerControl[0].PowerConsumedWatts: "N/A" where a number belongs`},
			check: func(t *testing.T, v *schemas.Power) {
				require.Nil(t, v.PowerControl[0].PowerConsumedWatts)
			}},
		{name: "empty text in power metrics", doc: `{"PowerControl":[{"PowerMetrics":{"MinConsumedWatts":"","AverageConsumedWatts":300}}]}`,
			dropped: []string{`PowerControl[0].PowerMetrics.MinConsumedWatts: "" where a number belongs`},
			check: func(t *testing.T, v *schemas.Power) {
				require.Nil(t, v.PowerControl[0].PowerMetrics.MinConsumedWatts)
				require.Equal(t, float32(300), *v.PowerControl[0].PowerMetrics.AverageConsumedWatts)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v schemas.Power
			dropped, err := decode([]byte(tt.doc), &v)
			require.NoError(t, err)
			require.ElementsMatch(t, tt.dropped, dropped)
			tt.check(t, &v)
		})
	}
	var cpu schemas.Processor
	dropped, err := decode([]byte(`{"Id":"CPU1","MaxSpeedMHz":"","TotalCores":8}`), &cpu)
	require.NoError(t, err)
	require.Equal(t, []string{`MaxSpeedMHz: "" where a whole number belongs`}, dropped)
	require.Nil(t, cpu.MaxSpeedMHz)
	require.Equal(t, 8, *cpu.TotalCores)
}
