// Package yamlconf loads kpilot's YAML configuration files strictly: unknown
// keys are errors that name their line, and error messages name the file.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// LoadFile decodes the YAML file at path into v, which should already hold
// its defaults. Unknown keys, wrong types and trailing documents are errors.
//
// A secret (a Secret field of v, or of the types in secretTypes, which name
// what v holds behind interfaces) may also be given as K_file: PATH, read
// from that file as with K: {file: PATH}.
func LoadFile(path string, v any, secretTypes ...any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	data, err = rewriteSecretFiles(data, SecretKeys(append(secretTypes, v)...))
	if err != nil {
		return fmt.Errorf("parsing YAML file %s: %w", path, err)
	}
	if err := Decode(data, v); err != nil {
		return fmt.Errorf("parsing YAML file %s: %w", path, err)
	}
	return nil
}

// Decode decodes data strictly into v. An empty document leaves v as it is.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("a config file holds one YAML document; found a second one")
	}
	return nil
}
