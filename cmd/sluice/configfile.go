package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// setting is one "name value" line of a --config file.
type setting struct {
	name, value string
	line        int
}

// notInFile are flags that are actions or name the file itself: a config
// file that sets them is an error.
var notInFile = map[string]string{
	"config":  "a config file cannot name another",
	"check":   "it is an action: give it on the command line",
	"version": "it is an action: give it on the command line",
}

// readConfigFile parses a --config file: one "name value" per line, the
// names of the flags without dashes; "#" starts a comment at the start of a
// line or after whitespace; a boolean may stand alone ("padding" is
// "padding true"); a value is everything after the first run of whitespace,
// trimmed, and a value in double quotes is unquoted ("" is the empty
// string, "a # b" keeps its #). Every value is checked by setting it on fs
// (a flag set of its own, so nothing of the caller's changes); errors name
// the file and the line.
func readConfigFile(fs *flag.FlagSet, path string) ([]setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	var (
		out  []setting
		errs []error
		seen = map[string]int{}
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		s, err := parseSetting(fs, sc.Text(), n, seen)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			continue
		}
		if s.name != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return out, errors.Join(errs...)
}

// parseSetting parses and checks one line; a blank or comment line gives
// a setting without a name.
func parseSetting(fs *flag.FlagSet, text string, n int, seen map[string]int) (setting, error) {
	text = strings.TrimSpace(text)
	if text == "" || text[0] == '#' {
		return setting{}, nil
	}
	name, rest := text, ""
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		name, rest = text[:i], text[i:]
	}
	value, quoted, err := settingValue(strings.TrimSpace(rest))
	if err != nil {
		return setting{}, fmt.Errorf("%s: %w", name, err)
	}
	f := fs.Lookup(name)
	switch {
	case strings.HasPrefix(name, "-"):
		return setting{}, fmt.Errorf("unknown setting %q (write names without dashes: %q)", name, strings.TrimLeft(name, "-"))
	case f == nil:
		if near := nearestFlag(fs, name); near != "" {
			return setting{}, fmt.Errorf("unknown setting %q (did you mean %q?)", name, near)
		}
		return setting{}, fmt.Errorf("unknown setting %q", name)
	case notInFile[name] != "":
		return setting{}, fmt.Errorf("%q cannot be set in a config file: %s", name, notInFile[name])
	case seen[name] != 0:
		return setting{}, fmt.Errorf("%q repeated (first set on line %d)", name, seen[name])
	}
	seen[name] = n
	isBool := false
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		isBool = true
	}
	if value == "" && !quoted {
		if !isBool {
			return setting{}, fmt.Errorf("%q needs a value", name)
		}
		value = "true"
	}
	if err := fs.Set(name, value); err != nil {
		if isBool {
			return setting{}, fmt.Errorf("bad value %q for %s: true or false (or the name alone for true)", value, name)
		}
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return setting{}, fmt.Errorf("bad value %q for %s: %v", value, name, err)
	}
	return setting{name: name, value: value, line: n}, nil
}

// settingValue takes the comment off a value and unquotes a quoted one.
func settingValue(v string) (value string, quoted bool, err error) {
	if strings.HasPrefix(v, `"`) {
		q, err := strconv.QuotedPrefix(v)
		if err != nil {
			return "", false, fmt.Errorf("unterminated or malformed quoted value %s", v)
		}
		after := strings.TrimSpace(v[len(q):])
		if after != "" && after[0] != '#' {
			return "", false, fmt.Errorf("text after the quoted value: %q", after)
		}
		value, _ = strconv.Unquote(q)
		return value, true, nil
	}
	if v != "" && v[0] == '#' {
		return "", false, nil
	}
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i]), false, nil
		}
	}
	return v, false, nil
}

// nearestFlag is the flag name closest to a misspelt one (at most two
// edits away), or "".
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
