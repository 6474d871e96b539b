package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/app/apptest"
	"github.com/renran/accounts/internal/testenv"
)

// TestREADMEWalkthrough runs the README's curl walk-through (docs/qq-walkthrough.sh, whose
// copy in the README must be the same) against the program as `go run ./cmd/renran` starts
// it: the development defaults, captcha emulator included.
func TestREADMEWalkthrough(t *testing.T) {
	script, err := os.ReadFile("../../docs/qq-walkthrough.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(readme), "<!-- walkthrough:begin -->\n```sh\n")
	block, _, _ = strings.Cut(block, "```\n<!-- walkthrough:end -->")
	if block != string(script) {
		t.Fatal("the README's walk-through differs from docs/qq-walkthrough.sh: copy the script into the README")
	}
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" not found: skipping the README walk-through (apt-get install "+tool+")")
		}
	}
	site := apptest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../../docs/qq-walkthrough.sh")
	cmd.Env = append(os.Environ(), "BASE="+site.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	for _, want := range []string{"first-time QQ user", "registered", "me: ", "['qq']", "returning QQ user logged in again"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walk-through's output lacks %q:\n%s", want, out)
		}
	}
}
