package main

// End-to-end tests of reopening the access log (SIGUSR1, for logrotate)
// while tunnels are ending and writing their lines.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsonLines parses every line of a file as JSON, failing on a torn one.
func jsonLines(t *testing.T, path string) []logLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []logLine
	for _, ln := range strings.Split(string(b), "\n") {
		if ln == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("%s: a line that is not JSON (torn by the reopen?): %q", path, ln)
		}
		out = append(out, m)
	}
	return out
}

// TestE2EAccessLogReopen: tunnels open and end without pause while the
// access log is moved away and reopened, as logrotate does (rename, then
// SIGUSR1): every tunnel's line is in the old file or the new one, whole,
// exactly once, and the lines after the reopen are in the new file. A
// reopen that cannot open the path keeps writing to the old file.
func TestE2EAccessLogReopen(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	rotated := p.logPath + ".1"

	const workers, each = 4, 40
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := probeOnce(p.addr(i%2 == 0), echo.addr(), i%2 == 0); err != nil {
					t.Errorf("tunnel %d/%d: %v", w, i, err)
					return
				}
			}
		}()
	}
	// Rotate once some lines are written and more are coming.
	waitFor(t, "some access-log lines", func() bool { return len(p.readLog()) >= 20 })
	if err := os.Rename(p.logPath, rotated); err != nil {
		t.Fatal(err)
	}
	p.s.reopenAccessLog()
	p.waitErrLog(`"message":"access log reopened"`)
	wg.Wait()

	deadline := time.Now().Add(waitLimit)
	var old, cur []logLine
	for {
		old, cur = jsonLines(t, rotated), jsonLines(t, p.logPath)
		if len(old)+len(cur) >= workers*each || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(old)+len(cur) != workers*each || len(old) == 0 || len(cur) == 0 {
		t.Fatalf("%d lines in the rotated file and %d in the new one; want %d in all, some in each", len(old), len(cur), workers*each)
	}
	// A line written twice is the same line twice; the client address
	// alone is no key, as one ephemeral port may serve a tunnel to the
	// plain listener and later one to the TLS listener.
	seen := map[string]bool{}
	for _, l := range append(old, cur...) {
		k := fmt.Sprint(l)
		if seen[k] {
			t.Errorf("a tunnel logged twice: %v", l)
		}
		seen[k] = true
	}

	// The path cannot be opened (a directory took its place): the reopen
	// fails, says so, and the lines keep going to the file in use.
	if err := os.Rename(p.logPath, p.logPath+".2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.logPath, 0o755); err != nil {
		t.Fatal(err)
	}
	p.s.reopenAccessLog()
	p.waitErrLog(`"message":"access log reopen failed; still writing to the old file"`)
	if err := probeOnce(p.plain, echo.addr(), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the line after a failed reopen in the file in use", func() bool {
		return len(jsonLines(t, p.logPath+".2")) == len(cur)+1
	})
	if err := os.Remove(p.logPath); err != nil {
		t.Fatal(err)
	}
	p.logPath += ".2" // for the dump on failure
}
