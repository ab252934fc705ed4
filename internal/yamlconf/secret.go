package yamlconf

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a password, community string or token read from configuration.
// It never prints: String, MarshalYAML, MarshalText and LogValue all give
// "<secret>". Use Reveal where the value is needed.
//
// In YAML a secret is a plain string, a string that is exactly "${NAME}"
// (read from the environment variable NAME), or a mapping {file: PATH}
// (read from a file, trailing newline removed), so that secrets need not sit
// in the config file itself.
type Secret string

const redacted = "<secret>"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// MarshalText implements encoding.TextMarshaler (used by JSON too).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		v := n.Value
		if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
			name := v[2 : len(v)-1]
			env, ok := os.LookupEnv(name)
			if !ok {
				return fmt.Errorf("line %d: environment variable %s is not set", n.Line, name)
			}
			v = env
		}
		*s = Secret(v)
		return nil
	case yaml.MappingNode:
		var src struct {
			File string `yaml:"file"`
		}
		if len(n.Content) != 2 || n.Content[0].Value != "file" {
			return fmt.Errorf("line %d: a secret is a string, \"${ENV_VAR}\" or {file: PATH}", n.Line)
		}
		if err := n.Decode(&src); err != nil {
			return err
		}
		data, err := os.ReadFile(src.File)
		if err != nil {
			return fmt.Errorf("line %d: reading secret: %w", n.Line, err)
		}
		*s = Secret(strings.TrimRight(string(data), "\r\n"))
		return nil
	default:
		return fmt.Errorf("line %d: a secret is a string, \"${ENV_VAR}\" or {file: PATH}", n.Line)
	}
}
