// Shipping ships paid orders: it consumes `orders.order-status-changed`, checks each
// paid order's payment with payments, creates its shipment once, and a simulated
// carrier later publishes `shipping.shipment-dispatched` and
// `shipping.shipment-delivered`. The shop's one Go service: it talks to its own Dapr
// sidecar over plain HTTP, as the Python services do, and reads the event contracts
// from the JSON Schemas they generate.
//
// main.go is the composition root: settings, logs, traces, contracts, the sidecar
// client, the service, the HTTP server and the carrier, wired once; and the shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// `shipping healthcheck`: the container image's health check, which has no shell or
	// curl to ask /healthz with.
	if len(os.Args) == 2 && os.Args[1] == "healthcheck" {
		if err := healthcheck(osEnv); err != nil {
			fmt.Fprintln(os.Stderr, "shipping healthcheck: "+err.Error())
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "shipping: "+err.Error())
		os.Exit(1)
	}
}

// healthcheck asks the running app's /healthz on APP_PORT, as the Python images' check
// does: an error unless it answers 2xx within 2 s.
func healthcheck(getenv func(string) string) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	client := http.Client{Timeout: 2 * time.Second}
	answer, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", cfg.AppPort))
	if err != nil {
		return err
	}
	answer.Body.Close()
	if answer.StatusCode < 200 || answer.StatusCode > 299 {
		return fmt.Errorf("/healthz answered %d", answer.StatusCode)
	}
	return nil
}

// App is the service wired: what main serves and what the tests drive.
type App struct {
	Config  Config
	Handler http.Handler
	Carrier *Carrier
	Sidecar *Sidecar
	Metrics *Metrics
	log     *slog.Logger
}

// NewApp wires the service from cfg; now is the clock (time.Now, or a test's).
func NewApp(cfg Config, log *slog.Logger, now func() time.Time) (*App, error) {
	contracts, err := LoadContracts(cfg.ContractsDir, contractTopics...)
	if err != nil {
		return nil, err
	}
	metrics := NewMetrics()
	sidecar := NewSidecar(cfg)
	shipments := &Shipments{sidecar: sidecar}
	service := &Service{
		shipments: shipments, sidecar: sidecar, metrics: metrics, log: Named(log, "shipping.service"),
		paymentsAppID: cfg.PaymentsAppID, dispatchDelay: cfg.DispatchDelay, deliveryDelay: cfg.DeliveryDelay, now: now,
	}
	events := &EventHandler{service: service, contracts: contracts, metrics: metrics, log: Named(log, "shipping.events")}
	api := &API{
		shipments: shipments, sidecar: sidecar, events: events, metrics: metrics,
		log: Named(log, "shipping.api"), access: Named(log, "shop.access"),
		appAPIToken: cfg.AppAPIToken, store: cfg.StateStore, pubsub: cfg.PubSub,
	}
	carrier := &Carrier{
		shipments: shipments, sidecar: sidecar, contracts: contracts, metrics: metrics,
		log: Named(log, "shipping.carrier"), interval: cfg.SweepInterval, now: now,
	}
	return &App{Config: cfg, Handler: api.Handler(), Carrier: carrier, Sidecar: sidecar, Metrics: metrics, log: log}, nil
}

func run() error {
	cfg, err := LoadConfig(osEnv)
	if err != nil {
		return err
	}
	log := NewLogger(os.Stdout, cfg.AppID, slog.LevelInfo)
	slog.SetDefault(Named(log, "shipping"))
	stopTracing, err := SetupTracing(cfg.AppID, cfg.ZipkinEndpoint, Named(log, "shipping.telemetry"))
	if err != nil {
		return fmt.Errorf("OTEL_EXPORTER_ZIPKIN_ENDPOINT: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stopTracing(ctx) // the last spans, flushed
	}()
	app, err := NewApp(cfg, log, time.Now)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Serve at once: daprd waits for the app's port before it delivers, while the
	// sidecar's own start is awaited below, before the carrier needs it.
	listener, err := net.Listen("tcp", cfg.ListenAddress())
	if err != nil {
		return fmt.Errorf("cannot listen on %s (APP_HOST, APP_PORT): %w", cfg.ListenAddress(), err)
	}
	server := &http.Server{
		Handler:           app.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Info(fmt.Sprintf("serving on http://%s (sidecar %s)", cfg.ListenAddress(), cfg.SidecarURL()))

	carrierDone := make(chan struct{})
	sidecarFailed := make(chan error, 1)
	go func() {
		defer close(carrierDone)
		if err := app.Sidecar.WaitForSidecar(ctx, cfg.StartupTimeout); err != nil {
			if ctx.Err() == nil {
				sidecarFailed <- err
			}
			return
		}
		app.Carrier.Run(ctx)
	}()

	var failure error
	select {
	case <-ctx.Done():
		log.Info("stopping: finishing the requests in flight")
	case err := <-served:
		failure = fmt.Errorf("the HTTP server stopped: %w", err)
	case err := <-sidecarFailed:
		failure = err
	}
	stop()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown: " + err.Error())
	}
	<-carrierDone // a sweep in flight ends with its current call's deadline
	if failure != nil {
		log.Error(failure.Error())
	} else {
		log.Info("stopped")
	}
	return failure
}
