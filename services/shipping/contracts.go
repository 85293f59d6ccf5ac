package main

// The event contracts, read from the JSON Schemas the Python models generate
// (contracts/events/<topic>.schema.json, `python -m tools.contracts`). Shipping never
// restates a contract in Go: what it receives and what it publishes are checked against
// those very files, so a drift between the models and this service fails loudly here
// (a received event is dropped, a publish refused), not silently at a consumer.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The topics whose payloads shipping reads or writes.
var contractTopics = []string{OrderStatusChangedTopic, DispatchedTopic, DeliveredTopic}

type Contracts struct {
	schemas map[string]*jsonschema.Schema
}

// LoadContracts compiles the schema of each topic from dir (draft 2020-12, formats such
// as date-time asserted: a consumer in Python parses them as datetimes).
func LoadContracts(dir string, topics ...string) (*Contracts, error) {
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	compiler.AssertFormat()
	contracts := &Contracts{schemas: map[string]*jsonschema.Schema{}}
	for _, topic := range topics {
		path, err := filepath.Abs(filepath.Join(dir, topic+".schema.json"))
		if err != nil {
			return nil, err
		}
		file, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("the contract of %q: %w (CONTRACTS_DIR is %q, relative to the working "+
				"directory: run from the repository root, or set CONTRACTS_DIR to contracts/events)", topic, err, dir)
		}
		document, err := jsonschema.UnmarshalJSON(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("the contract of %q (%s) is not JSON: %w", topic, path, err)
		}
		if err := compiler.AddResource(path, document); err != nil {
			return nil, fmt.Errorf("the contract of %q (%s): %w", topic, path, err)
		}
		schema, err := compiler.Compile(path)
		if err != nil {
			return nil, fmt.Errorf("the contract of %q (%s) does not compile: %w", topic, path, err)
		}
		contracts.schemas[topic] = schema
	}
	return contracts, nil
}

// Check validates data (JSON) as a payload of topic; the error says what is wrong.
func (c *Contracts) Check(topic string, data []byte) error {
	schema, ok := c.schemas[topic]
	if !ok {
		return fmt.Errorf("no contract loaded for topic %q", topic)
	}
	// jsonschema's own decoding keeps numbers exact (json.Number): 10000000000 stays an
	// integer, not a float that only looks like one.
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := schema.Validate(value); err != nil {
		return fmt.Errorf("does not match the %s contract: %w", topic, err)
	}
	return nil
}

// Payload encodes v and checks it against topic's contract: what shipping publishes
// must be what its consumers were promised.
func (c *Contracts) Payload(topic string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := c.Check(topic, data); err != nil {
		return nil, err
	}
	return data, nil
}
