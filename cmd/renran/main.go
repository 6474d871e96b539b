// Command renran is the Renran account service: `renran serve` (the default) runs it,
// `renran migrate` applies database migrations, `renran doctor` checks the configuration,
// `renran qq-emulator` runs the QQ Connect
// emulator on its own. Configuration comes from RENRAN_* environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/renran/accounts/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "renran:", err)
		os.Exit(1)
	}
}
