package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAccessLogReopenFileConcurrent: writers that never pause and a
// reopen after every rename: no line is lost, torn or doubled (run with
// -race for the swap itself).
func TestAccessLogReopenFileConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	f, err := openReopenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, lines, rotations = 8, 2000, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				line := fmt.Sprintf(`{"w":%d,"i":%d,"pad":"%s"}`+"\n", w, i, strings.Repeat("x", i%300))
				if _, err := f.Write([]byte(line)); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	for r := 0; r < rotations; r++ {
		time.Sleep(time.Millisecond)
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
			t.Fatal(err)
		}
		if err := f.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("late\n")); err == nil {
		t.Error("a write after Close succeeded")
	}
	seen := map[string]bool{}
	files, _ := filepath.Glob(path + "*")
	for _, name := range files {
		for _, l := range jsonLines(t, name) {
			k := fmt.Sprint(l["w"], "/", l["i"])
			if seen[k] {
				t.Errorf("line %s twice", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != writers*lines {
		t.Errorf("%d lines in %d files; want %d", len(seen), len(files), writers*lines)
	}
}
