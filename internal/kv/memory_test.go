package kv_test

import (
	"testing"

	"github.com/renran/accounts/internal/kv"
	"github.com/renran/accounts/internal/kv/kvtest"
)

func TestMemory(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kvtest.Store {
		m := kv.NewMemory(nil)
		t.Cleanup(func() { m.Close() })
		return m
	})
}
