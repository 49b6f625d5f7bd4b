package main

// Fuzzing of the --config file parser: no input panics it, the line an
// error or a setting names exists, and what it accepts reads back the same
// when written out again in the quoted form.

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"listen 127.0.0.1:8080\nlisten-tls \"\"\n",
		"# comment\n\npadding\nbuffer-size 256KiB # trailing\n",
		"allow-ports 443,8000-8100\nconnect-response \"HTTP/1.1 200 OK\\r\\nX: y\"\n",
		"--listen :80\nlisen :80\nconfig x\nlisten a\nlisten b\n",
		"idle-timeout \"5m\" junk\nh2-max-streams -1\nhalf-close maybe\n",
		"\t  access-log\t\"a # b\"  # c\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "sluice.conf")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(data, "\n") + 1
		got, err := readConfigFile(newFlagSet(&config{}, io.Discard), path)
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("an error that names no file: %v", err)
		}
		var again strings.Builder
		for _, s := range got {
			if s.line < 1 || s.line > lines {
				t.Fatalf("setting %q on line %d of %d", s.name, s.line, lines)
			}
			again.WriteString(s.name + " " + strconv.Quote(s.value) + "\n")
		}
		if err := os.WriteFile(path, []byte(again.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := readConfigFile(newFlagSet(&config{}, io.Discard), path)
		if err != nil {
			t.Fatalf("accepted settings, written out quoted, are refused: %v\n%s", err, again.String())
		}
		if len(back) != len(got) {
			t.Fatalf("%d settings read back, %d written", len(back), len(got))
		}
		for i := range got {
			if back[i].name != got[i].name || back[i].value != got[i].value {
				t.Fatalf("setting %d: %q=%q read back as %q=%q", i, got[i].name, got[i].value, back[i].name, back[i].value)
			}
		}
	})
}
