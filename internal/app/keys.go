package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/config"
)

// runKeys is `renran keys list|rotate`: the access-token signing keys in the configured
// database. Instances read the keys every account.KeyReload, so a rotation reaches them
// all without a restart.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	const usage = "usage: renran keys list | renran keys rotate [-now]\n\nlist: the access-token signing keys and what each does now\nrotate: add a key, published at once and signing in 10 minutes (-now: at once); nobody is logged out"
	switch sub {
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "list", "rotate":
	default:
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("renran keys "+sub, flag.ContinueOnError)
	var now *bool
	if sub == "rotate" {
		now = fs.Bool("now", false, "sign with the new key at once (tokens already issued keep working; verifiers that cached the JWKS fetch it again for the new kid)")
	}
	if help, err := parseFlags(fs, args, stdout, map[string]string{"list": "lists the access-token signing keys and what each does now",
		"rotate": "adds a signing key, published at once and signing in 10 minutes; nobody is logged out"}[sub]); help || err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.SecretKey == nil {
		if cfg.SecretKey, err = devSecret(cfg.DataDir); err != nil {
			return err
		}
	}
	db, err := OpenStore(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	t := time.Now()
	if sub == "rotate" {
		delay := account.DefaultKeyDelay
		if *now {
			delay = 0
		}
		k, err := account.RotateKey(ctx, db, cfg.SecretKey, t, delay)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "renran: new signing key %s, published now, signing from %s\n", k.ID, k.ActiveFrom.Local().Format(time.DateTime))
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-18s  %-19s  %-19s  %s\n", "kid", "created", "signs from", "state")
	for _, k := range account.KeyStates(keys, t, cfg.AccessTTL) {
		fmt.Fprintf(stdout, "%-18s  %-19s  %-19s  %s\n", k.ID, k.CreatedAt.Local().Format(time.DateTime), k.ActiveFrom.Local().Format(time.DateTime), k.State)
	}
	return nil
}
