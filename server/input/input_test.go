package input_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
)

func TestName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"trimmed", "  Branch Vienna ", "Branch Vienna"},
		{"200 characters of any script", strings.Repeat("ü", 200), strings.Repeat("ü", 200)},
		{"empty", "  ", ""},
		{"too long", strings.Repeat("a", 201), ""},
		{"two lines", "a\nb", ""},
		{"a NUL", "a\x00b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := input.Name("name", tt.in)
			if tt.want == "" {
				require.Equal(t, problem.Invalid, problem.KindOf(err))
				require.EqualError(t, err, "name: 1 to 200 characters on one line")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lowercased", " Partner@R1.example ", "partner@r1.example"},
		{"with a name", "Partner <partner@r1.example>", ""},
		{"two", "a@r1.example, b@r1.example", ""},
		{"too long", strings.Repeat("a", 250) + "@r1.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := input.Email("email", tt.in)
			if tt.want == "" {
				var pe *problem.Error
				require.ErrorAs(t, err, &pe)
				require.Equal(t, problem.Invalid, pe.Kind)
				require.True(t, strings.HasPrefix(pe.Msg, "email "), "got %q", pe.Msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
