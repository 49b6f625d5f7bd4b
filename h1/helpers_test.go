package h1

import (
	"errors"
	"testing"
)

// codeOf returns the StatusError code of err, 0 for nil and -1 for
// anything else (ErrNeedMore included).
func codeOf(err error) int {
	if err == nil {
		return 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return -1
}

// small limits that fuzzing can actually reach.
var smallLimits = Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxFields: 8}

// checkPrefixes asserts that every proper prefix of head gives ErrNeedMore
// with n == 0 (the every-prefix rule for sans-IO parsers).
func checkPrefixes(t *testing.T, head string, parse func([]byte) (int, error)) {
	t.Helper()
	for i := 0; i < len(head); i++ {
		n, err := parse([]byte(head[:i]))
		if !errors.Is(err, ErrNeedMore) || n != 0 {
			t.Fatalf("prefix %q: got n=%d err=%v; want 0, ErrNeedMore", head[:i], n, err)
		}
	}
}

// nextPrefix steps through prefix lengths: every one for short inputs,
// and for long ones (the size-limit vectors) a stride plus every length
// near the end, which keeps the quadratic prefix tests fast under -race.
func nextPrefix(i, n int) int {
	if n <= 2048 || i >= n-256 {
		return i + 1
	}
	return i + 509
}

// isToken reports whether s is a non-empty token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}
