package main

import "github.com/dapr/dapr/cmd/sentry/app"

func main() {
	app.Run()
}
