package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDevSecretIsKept: the development secret is made once and reused, so tokens survive
// a restart; it is not world-readable.
func TestDevSecretIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := devSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := devSecret(dir)
	if err != nil || !bytes.Equal(a, b) || len(a) < 32 {
		t.Fatalf("devSecret twice = %q, %q, %v", a, b, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "secret.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode = %v, want 0600", fi.Mode().Perm())
	}
}
