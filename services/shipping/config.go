package main

// Settings from the environment, with the same names and defaults as the Python
// services' (libs/shop_dapr/sidecar.py SidecarSettings): `dapr run`, the test launcher,
// compose and Kubernetes hand every app the same variables.

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

type Config struct {
	AppID   string // the Dapr app id; the service name in logs and traces
	AppHost string // 127.0.0.1 beside a local daprd; 0.0.0.0 in a container
	AppPort int

	DaprHTTPPort   int
	DaprAPIToken   string // app -> sidecar (daprd's DAPR_API_TOKEN)
	AppAPIToken    string // sidecar -> app: required on every route but the probes
	CallTimeout    time.Duration
	StartupTimeout time.Duration

	StateStore    string
	PubSub        string
	PaymentsAppID string

	ZipkinEndpoint string // none: spans are made (log correlation) but not exported
	ContractsDir   string

	DispatchDelay time.Duration
	DeliveryDelay time.Duration
	SweepInterval time.Duration
}

// LoadConfig reads `getenv` (os.Getenv in main, a map in tests); a malformed value is an
// error that names the variable, not a silent default.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := settings{getenv: getenv}
	c := Config{
		AppID:          env.str("APP_ID", "shipping"),
		AppHost:        env.str("APP_HOST", "127.0.0.1"),
		AppPort:        env.port("APP_PORT", 8107),
		DaprHTTPPort:   env.port("DAPR_HTTP_PORT", 3500),
		DaprAPIToken:   getenv("DAPR_API_TOKEN"),
		AppAPIToken:    getenv("APP_API_TOKEN"),
		CallTimeout:    env.seconds("DAPR_CALL_TIMEOUT_SECONDS", 5, false),
		StartupTimeout: env.seconds("DAPR_STARTUP_TIMEOUT_SECONDS", 60, false),
		StateStore:     env.str("STATESTORE", "statestore"),
		PubSub:         env.str("PUBSUB", "pubsub"),
		PaymentsAppID:  env.str("PAYMENTS_APP_ID", "payments"),
		ZipkinEndpoint: getenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT"),
		ContractsDir:   env.str("CONTRACTS_DIR", "contracts/events"),
		DispatchDelay:  env.seconds("SHIPPING_DISPATCH_DELAY_SECONDS", 8, true),
		DeliveryDelay:  env.seconds("SHIPPING_DELIVERY_DELAY_SECONDS", 15, true),
		SweepInterval:  env.seconds("SHIPPING_SWEEP_INTERVAL_SECONDS", 1, false),
	}
	return c, env.err
}

// SidecarURL is where this process's own sidecar serves its HTTP API.
func (c Config) SidecarURL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.DaprHTTPPort) }

// ListenAddress is where the app serves (daprd calls it at APP_PORT).
func (c Config) ListenAddress() string { return fmt.Sprintf("%s:%d", c.AppHost, c.AppPort) }

type settings struct {
	getenv func(string) string
	err    error // the first malformed variable
}

func (s *settings) str(name, fallback string) string {
	if value := s.getenv(name); value != "" {
		return value
	}
	return fallback
}

func (s *settings) port(name string, fallback int) int {
	value := s.getenv(name)
	if value == "" {
		return fallback
	}
	port, err := strconv.Atoi(value)
	if err != nil || port < 1 || port > 65535 {
		s.fail(fmt.Errorf("%s=%q: a port number (1-65535) is expected", name, value))
		return fallback
	}
	return port
}

// seconds reads a number of seconds, fractions allowed (tests run the carrier fast).
func (s *settings) seconds(name string, fallback float64, zeroAllowed bool) time.Duration {
	value := s.getenv(name)
	if value == "" {
		return time.Duration(fallback * float64(time.Second))
	}
	number, err := strconv.ParseFloat(value, 64)
	if err != nil || number < 0 || (number == 0 && !zeroAllowed) || number > 86400 {
		lowest := "0 < n"
		if zeroAllowed {
			lowest = "0 <= n"
		}
		s.fail(fmt.Errorf("%s=%q: a number of seconds is expected (%s <= 86400)", name, value, lowest))
		return time.Duration(fallback * float64(time.Second))
	}
	return time.Duration(number * float64(time.Second))
}

func (s *settings) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// osEnv is the process environment, for LoadConfig.
func osEnv(name string) string { return os.Getenv(name) }
