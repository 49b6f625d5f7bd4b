package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestGnetLoggerLevels: gnet's warnings stay warnings, but its notice of
// an event for a conn already closed in the same batch is debug.
func TestGnetLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	g := gnetLogger{zerolog.New(&buf)}
	g.Warnf("received event[fd=%d|ev=%d|flags=%d] of a stale connection from event-loop(%d)", 12, 1, 0, 0)
	g.Warnf("failed to set TCP keepalive on fd=%d: %v", 12, "EBADF")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"debug"`) || !strings.Contains(lines[1], `"level":"warn"`) {
		t.Fatalf("log lines:\n%s\nwant the stale-connection line at debug, the other at warn", buf.String())
	}
}
