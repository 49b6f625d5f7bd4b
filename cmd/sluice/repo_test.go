package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepoStandsAlone: no file in the repository points to notes outside
// it; what a comment or a doc needs to say, it says itself.
func TestRepoStandsAlone(t *testing.T) {
	root := filepath.Join("..", "..")
	// The names are put together here, so that this file, which must
	// know them, does not itself point anywhere.
	notes := "sha" + "red"
	outside := []string{"../" + notes, notes + "/reference", "design" + ".md", "anchors" + ".md",
		"relay-next" + "-wave", "gnet-work" + "arounds"}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".sh", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range outside {
			if strings.Contains(string(b), s) {
				t.Errorf("%s mentions %q, a file outside the repository", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
