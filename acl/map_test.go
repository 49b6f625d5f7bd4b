package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustMap(t testing.TB, text string) *Map {
	t.Helper()
	m, err := ParseMap(strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseMap: %v", err)
	}
	return m
}

func decide(t testing.TB, m *Map, authority string) Decision {
	t.Helper()
	tg, err := ParseTarget(authority)
	if err != nil {
		t.Fatalf("ParseTarget(%q): %v", authority, err)
	}
	return m.Decide(tg)
}

const sampleMap = `
# sluice ACL: pattern value
default            1
blocked.example    0
Logged.Example.    2
api.example:8443   3
api.example        0
*.ads.example      0
.tracker.example   2;
*.example          1   # everything else under example is fine
10.0.0.0/8         0
10.1.0.0/16        1
10.1.2.3           2
2001:db8::/32      0
[2001:db8::1]:443  1
~^evil[0-9]+\.     0
~:25$              2
~*^MIXED\.         0
`

func TestDecidePatternKinds(t *testing.T) {
	m := mustMap(t, sampleMap)
	tests := []struct {
		target string
		value  Value
		rule   string
	}{
		{"blocked.example:443", Deny, "blocked.example"},
		{"logged.example:443", DenyLog, "Logged.Example."},
		{"api.example:8443", AllowLog, "api.example:8443"},
		{"api.example:443", Deny, "api.example"},
		{"ads.example:443", Deny, "*.ads.example"},
		{"x.y.ads.example:443", Deny, "*.ads.example"},
		{"tracker.example:443", DenyLog, ".tracker.example"},
		{"a.tracker.example:443", DenyLog, ".tracker.example"},
		{"www.example:443", Allow, "*.example"},
		{"notads.example:443", Allow, "*.example"},
		{"10.9.9.9:443", Deny, "10.0.0.0/8"},
		{"10.1.9.9:443", Allow, "10.1.0.0/16"},
		{"10.1.2.3:443", DenyLog, "10.1.2.3"},
		{"[2001:db8::2]:443", Deny, "2001:db8::/32"},
		{"[2001:db8::1]:443", Allow, "[2001:db8::1]:443"},
		{"[2001:db8::1]:80", Deny, "2001:db8::/32"},
		{"evil42.org:443", Deny, `~^evil[0-9]+\.`},
		{"mail.org:25", DenyLog, "~:25$"},
		{"mixed.org:443", Deny, `~*^MIXED\.`},
		{"other.org:443", Allow, "default"},
		{"8.8.8.8:443", Allow, "default"},
	}
	for _, tt := range tests {
		d := decide(t, m, tt.target)
		if d.Value != tt.value || d.Rule != tt.rule {
			t.Errorf("%s: got %v by %q (line %d), want %v by %q", tt.target, d.Value, d.Rule, d.Line, tt.value, tt.rule)
		}
	}
	if d := decide(t, m, "blocked.example:443"); d.Line != 4 {
		t.Errorf("line of blocked.example = %d, want 4", d.Line)
	}
	if m.Len() != 15 {
		t.Errorf("Len = %d, want 15", m.Len())
	}
}

func TestDecidePrecedence(t *testing.T) {
	m := mustMap(t, `
~.*                 2
*.example.com       0
*.a.example.com     1
exact.a.example.com 0
exact.a.example.com:8443 3
10.0.0.0/8          1
10.0.0.0/16         0
10.0.0.0/24         3
`)
	tests := []struct {
		target string
		rule   string
	}{
		{"exact.a.example.com:8443", "exact.a.example.com:8443"}, // host:port beats host
		{"exact.a.example.com:443", "exact.a.example.com"},       // host beats suffix
		{"b.a.example.com:443", "*.a.example.com"},               // longest suffix
		{"a.example.com:443", "*.a.example.com"},                 // suffix covers its apex
		{"b.example.com:443", "*.example.com"},
		{"fakeexample.com:443", "~.*"}, // no look-alike match; regex after the rest
		{"10.0.0.1:443", "10.0.0.0/24"},
		{"10.0.1.1:443", "10.0.0.0/16"},
		{"10.1.0.1:443", "10.0.0.0/8"},
		{"11.0.0.1:443", "~.*"},
	}
	for _, tt := range tests {
		if d := decide(t, m, tt.target); d.Rule != tt.rule {
			t.Errorf("%s: matched %q, want %q", tt.target, d.Rule, tt.rule)
		}
	}
}

func TestDecideRegexFileOrder(t *testing.T) {
	m := mustMap(t, "~^a 0\n~^ab 1\ndefault 3\n")
	if d := decide(t, m, "abc.org:443"); d.Rule != "~^a" {
		t.Errorf("first regex in file order should win, got %q", d.Rule)
	}
	if d := decide(t, m, "zzz.org:443"); d.Value != AllowLog || d.Rule != "default" || d.Line != 3 {
		t.Errorf("default line: got %+v", d)
	}
}

// Every spelling trick must land on the rule that names the target.
func TestDecideNoBypass(t *testing.T) {
	m := mustMap(t, `
default 1
secret.example 0
*.internal.example 0
127.0.0.0/8 0
::1 0
fd00::/8 0
only443.example:443 0
`)
	denied := []string{
		"secret.example:443", "SECRET.EXAMPLE:443", "Secret.Example.:443", "secret.example.:443",
		"secret.example:0443", "secret.example:8443",
		"db.internal.example:443", "DB.Internal.Example.:443", "internal.example.:443",
		"127.0.0.1:443", "[::ffff:127.0.0.1]:443", "[::ffff:7f00:1]:443", "127.255.0.1:443",
		"[::1]:443", "[0:0::1]:443", "[0000:0000:0000:0000:0000:0000:0000:0001]:443",
		"[fd00::1]:443", "[FD00::1]:443",
		"only443.example:443", "ONLY443.example.:443", "only443.example:00443",
	}
	for _, s := range denied {
		if d := decide(t, m, s); d.Value.Allowed() {
			t.Errorf("%s: allowed by %q, want denied", s, d.Rule)
		}
	}
	// host:port rules are port-specific by design.
	if d := decide(t, m, "only443.example:8443"); !d.Value.Allowed() {
		t.Errorf("only443.example:8443 denied by %q", d.Rule)
	}
	// Spellings that would be read as 127.0.0.1 by some resolver are not
	// targets at all.
	for _, s := range []string{"0x7f.1:443", "2130706433:443", "0177.0.0.1:443", "127.1:443"} {
		if _, err := ParseTarget(s); err == nil {
			t.Errorf("%s accepted as a target", s)
		}
	}
}

func TestDecideIPv4MappedPatterns(t *testing.T) {
	m := mustMap(t, "::ffff:10.0.0.0/104 0\n::ffff:192.0.2.1 0\n")
	for _, s := range []string{"10.2.3.4:443", "[::ffff:10.2.3.4]:443", "192.0.2.1:443"} {
		if d := decide(t, m, s); d.Value.Allowed() {
			t.Errorf("%s allowed by %q", s, d.Rule)
		}
	}
}

func TestDecideNilAndEmpty(t *testing.T) {
	var m *Map
	if d := decide(t, m, "x.org:443"); d.Value != Allow || d.Rule != "default" {
		t.Errorf("nil map: %+v", d)
	}
	if m.AllowsAddr(netip.MustParseAddr("10.0.0.1")) || m.Len() != 0 {
		t.Error("nil map should allow no address and have no rules")
	}
	e := mustMap(t, "# nothing\n\n   \n")
	if d := decide(t, e, "x.org:443"); d.Value != Allow || d.Line != 0 {
		t.Errorf("empty map: %+v", d)
	}
	if d := mustMap(t, "default 0").Default(); d.Value != Deny || d.Line != 1 {
		t.Errorf("Default() = %+v", d)
	}
}

func TestParseMapErrors(t *testing.T) {
	tests := []struct {
		text string
		line int
		msg  string
	}{
		{"a.example 1\nb.example\n", 2, "fields"},
		{"a.example 1\nb.example 1 extra\n", 2, "fields"},
		{"\n\na.example 4\n", 3, "not 0, 1, 2 or 3"},
		{"a.example allow\n", 1, "not 0"},
		{"a.example 1\nA.EXAMPLE. 0\n", 2, "first on line 1"},
		{"default 1\ndefault 0\n", 2, "second default"},
		{"10.1.2.3/8 0\n", 1, "did you mean 10.0.0.0/8"},
		{"10.0.0.0/33 0\n", 1, "10.0.0.0/33"},
		{"10.0.0.0/8 0\n10.0.0.0/8 1\n", 2, "first on line 1"},
		{"10.0.0.1 0\n10.0.0.1/32 1\n", 2, "first on line 1"},
		{"~(unclosed 0\n", 1, "missing closing )"},
		{"~ 0\n", 1, "empty regular expression"},
		{"~^a 0\n~^a 1\n", 2, "first on line 1"},
		{"foo.*.example 0\n", 1, "leading"},
		{"*.*.example 0\n", 1, "leading"},
		{"* 0\n", 1, "leading"},
		{"*. 0\n", 1, "length"},
		{"0x7f.1 0\n", 1, "non-canonical"},
		{"*.0.1 0\n", 1, "non-canonical"},
		{"exa_mple.com:99999 0\n", 1, "out of range"},
		{"bad host 0\n", 1, "fields"},
		{"bad!host 0\n", 1, "character"},
		{"[fe80::1%eth0] 0\n", 1, "zone"},
		{"x 1\n" + strings.Repeat("a", maxLine+1) + " 1\n", 2, "too long"},
	}
	for _, tt := range tests {
		_, err := ParseMap(strings.NewReader(tt.text))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%.40q: error %v, want *ParseError", tt.text, err)
			continue
		}
		if pe.Line != tt.line || !strings.Contains(pe.Error(), tt.msg) {
			t.Errorf("%.40q: got %q (line %d), want line %d containing %q", tt.text, pe.Error(), pe.Line, tt.line, tt.msg)
		}
	}
}

func TestLoadMap(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "acl.map")
	if err := os.WriteFile(good, []byte("default 0\nok.example 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMap(good)
	if err != nil {
		t.Fatal(err)
	}
	if !decide(t, m, "ok.example:443").Value.Allowed() || decide(t, m, "no.example:443").Value.Allowed() {
		t.Error("loaded map decides wrongly")
	}
	bad := filepath.Join(dir, "bad.map")
	if err := os.WriteFile(bad, []byte("ok 1\nok 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMap(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: ") {
		t.Errorf("LoadMap(bad) error = %v, want %q prefix", err, bad+":2: ")
	}
	if _, err := LoadMap(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestAllowsAddr(t *testing.T) {
	m := mustMap(t, "10.0.0.0/8 1\n10.9.0.0/16 0\n192.168.1.1 3\nfd00::/8 1\nexample.com 1\n")
	for ip, want := range map[string]bool{
		"10.1.1.1": true, "10.9.1.1": false, "192.168.1.1": true, "192.168.1.2": false,
		"::ffff:10.1.1.1": true, "fd00::5": true, "fe80::1": false, "8.8.8.8": false,
	} {
		if got := m.AllowsAddr(netip.MustParseAddr(ip)); got != want {
			t.Errorf("AllowsAddr(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestDecideNoAlloc(t *testing.T) {
	m := mustMap(t, strings.Join(strings.Split(sampleMap, "\n")[:15], "\n")) // no regex lines
	var targets []Target
	for _, s := range []string{"api.example:8443", "x.y.ads.example:443", "10.1.9.9:443", "[2001:db8::2]:443", "nothing.org:443"} {
		tg, _ := ParseTarget(s)
		targets = append(targets, tg)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, tg := range targets {
			m.Decide(tg)
		}
	}); n != 0 {
		t.Errorf("Decide allocates %v times without regex rules", n)
	}
}

func TestValue(t *testing.T) {
	for v, want := range map[Value][3]any{
		Deny: {false, false, "deny"}, Allow: {true, false, "allow"},
		DenyLog: {false, true, "deny+log"}, AllowLog: {true, true, "allow+log"},
	} {
		if v.Allowed() != want[0] || v.Logged() != want[1] || v.String() != want[2] {
			t.Errorf("Value %d: %v %v %q", v, v.Allowed(), v.Logged(), v.String())
		}
	}
}

// genMap builds n rules, half exact hosts and half suffixes, the shape of
// a large block list.
func genMap(tb testing.TB, n int) *Map {
	tb.Helper()
	var b strings.Builder
	b.Grow(n * 32)
	b.WriteString("default 1\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&b, "host%d.example%d.com 0\n*.zone%d.net 2\n", i, i%97, i)
	}
	m, err := ParseMap(strings.NewReader(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkDecide shows that lookup cost does not grow with the number of
// rules. "hot" cycles through 16 targets, so the map lines they touch stay
// in cache and ns/op is the algorithm's cost. "spread" cycles through 1024
// targets: a 1,000,000-rule map (about 120 MiB) no longer fits in cache,
// so it adds memory latency per probe, still not a function of the rule
// count (the probe count is the same; see the depth mask in Map).
// cpu-ns/op is process CPU time per lookup (run with -cpu 1), which a busy
// shared machine disturbs far less than the wall-clock ns/op.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		m := genMap(b, n)
		// A quarter exact hits, a quarter deep suffix hits, half misses
		// that probe every suffix depth in use.
		targets := make([]Target, 1024)
		for i := range targets {
			j := (i * 7919) % (n / 2)
			var s string
			switch i % 4 {
			case 0:
				s = fmt.Sprintf("host%d.example%d.com:443", j, j%97)
			case 1:
				s = fmt.Sprintf("a.b.c.zone%d.net:443", j)
			case 2:
				s = fmt.Sprintf("www.miss%d.example.org:443", j)
			default:
				s = fmt.Sprintf("x.y.z.host%d.nowhere.io:443", j)
			}
			tg, err := ParseTarget(s)
			if err != nil {
				b.Fatal(err)
			}
			targets[i] = tg
		}
		for _, ws := range []struct {
			name string
			mask int
		}{{"hot", 15}, {"spread", 1023}} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, ws.name), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				cpu := cpuTime()
				for b.Loop() {
					m.Decide(targets[i&ws.mask])
					i++
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func FuzzParseMap(f *testing.F) {
	f.Add(sampleMap)
	f.Add("default 0\n*.example.com 1\n")
	f.Add("10.0.0.0/8 1\n~^a.*b$ 3\n[::1]:443 2;\n")
	f.Add("# comment\n\nexample.com:443 1 # trailing\n")
	f.Add("~* 0\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseMap(strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, s := range []string{"example.com:443", "a.b.example.com:80", "10.1.2.3:443", "[::1]:443"} {
			tg, _ := ParseTarget(s)
			d := m.Decide(tg)
			if d.Value > AllowLog || d.Rule == "" {
				t.Fatalf("bad decision %+v", d)
			}
		}
		m.AllowsAddr(netip.MustParseAddr("10.1.2.3"))
	})
}
