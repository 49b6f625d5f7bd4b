package acl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strings"
)

// Value is what an ACL line maps a target to. The numbers are the ones
// nginx's tunnel_acl_eval_on map uses, so existing maps carry over.
type Value uint8

// The four ACL values. Bit 0 is "allow", bit 1 is "log".
const (
	Deny     Value = 0
	Allow    Value = 1
	DenyLog  Value = 2
	AllowLog Value = 3
)

// Allowed reports whether the tunnel may proceed (1 or 3).
func (v Value) Allowed() bool { return v&1 == 1 }

// Logged reports whether the decision should be logged on its own line
// (2 or 3), beyond the ordinary access log.
func (v Value) Logged() bool { return v&2 == 2 }

// String names the value for logs.
func (v Value) String() string {
	switch v {
	case Deny:
		return "deny"
	case Allow:
		return "allow"
	case DenyLog:
		return "deny+log"
	case AllowLog:
		return "allow+log"
	}
	return fmt.Sprintf("Value(%d)", uint8(v))
}

// Decision is the outcome of [Map.Decide].
type Decision struct {
	// Value is the mapped value.
	Value Value
	// Rule is the pattern as written in the file, or "default".
	Rule string
	// Line is the file line of Rule; 0 for a default that was not written
	// in the file.
	Line int
}

// rule keeps the pattern as the operator wrote it, because that is what
// they will grep for when a log line names it.
type rule struct {
	value   Value
	line    int32
	pattern string
}

func (r rule) decision() Decision {
	return Decision{Value: r.value, Rule: r.pattern, Line: int(r.line)}
}

type hostPort struct {
	host string
	port uint16
}

// prefixTable finds the most specific CIDR for an address with one hash
// lookup per distinct prefix length in use (at most 33 or 129), so its
// cost does not grow with the number of rules.
type prefixTable struct {
	rules map[netip.Prefix]rule
	lens  []int // distinct lengths, longest first
}

func (t *prefixTable) add(p netip.Prefix, r rule) (rule, bool) {
	if t.rules == nil {
		t.rules = make(map[netip.Prefix]rule)
	}
	if old, dup := t.rules[p]; dup {
		return old, false
	}
	t.rules[p] = r
	i := 0
	for i < len(t.lens) && t.lens[i] > p.Bits() {
		i++
	}
	if i == len(t.lens) || t.lens[i] != p.Bits() {
		t.lens = append(t.lens, 0)
		copy(t.lens[i+1:], t.lens[i:])
		t.lens[i] = p.Bits()
	}
	return r, true
}

func (t *prefixTable) lookup(ip netip.Addr) (rule, int, bool) {
	for _, bits := range t.lens {
		p, err := ip.Prefix(bits)
		if err != nil {
			continue
		}
		if r, ok := t.rules[p]; ok {
			return r, bits, true
		}
	}
	return rule{}, 0, false
}

type regexRule struct {
	re *regexp.Regexp
	rule
}

// Map is a compiled --acl file. It is immutable once built, so one *Map
// can serve every event loop; a reload builds a new one to swap in.
//
// Precedence, first hit wins:
//
//  1. exact "host:port" lines;
//  2. exact host lines (names and IP literals);
//  3. for names: the longest matching "*.suffix" line ("*.example.com"
//     and ".example.com" cover example.com itself and every name below it);
//     for IP literals: the most specific CIDR line (a bare IP line counts
//     as a /32 or /128). CIDR lines judge IP-literal targets only, not
//     the addresses a name resolves to; see [Guard] for those;
//  4. "~regex" lines in file order, each tried against the host and
//     against "host:port" ("[v6]:port" for IPv6), so a regex need not
//     care whether a port follows;
//  5. the "default" line, or Allow when the file has none.
//
// Targets are matched after [NormalizeTarget], and patterns go through the
// same normalization when loaded, so case, a trailing dot, brackets and
// IPv4-mapped IPv6 spellings cannot dodge a rule.
type Map struct {
	hostPorts map[hostPort]rule
	hosts     map[string]rule
	suffixes  map[string]rule
	// depths has bit n set when some suffix rule has n labels, so the walk
	// probes only lengths that can match: two probes instead of six for
	// a deep name against a typical list of registrable domains.
	depths  [2]uint64
	v4, v6  prefixTable
	regexes []regexRule
	def     rule
	n       int
}

var defaultRule = rule{value: Allow, pattern: "default"}

// LoadMap reads and compiles an --acl file. On error the caller keeps the
// map it already has; the error names file and line.
func LoadMap(path string) (*Map, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParseMap(f)
	return m, withFile(err, path)
}

// maxLine bounds a single line, regexes included; anything longer is far
// more likely a corrupt file than a rule.
const maxLine = 64 << 10

// ParseMap compiles an ACL map. Each non-blank line is "pattern value"
// (an nginx-style trailing ';' is tolerated), where value is 0-3 and
// pattern is one of:
//
//	example.com            exact host
//	example.com:8443       exact host and port ([2001:db8::1]:443 for IPv6)
//	*.example.com          suffix: example.com and all names below it
//	.example.com           the same, nginx spelling
//	10.0.0.0/8             CIDR, for IP-literal targets (and see Guard)
//	~^ads[0-9]*\.          regular expression (RE2 syntax)
//	default                the value when nothing else matches
//
// Lines starting with '#' are comments, as is anything after the value
// that starts with '#'. A pattern may appear only once, and contains no
// whitespace (write \s or \x20 in a regex).
func ParseMap(r io.Reader) (*Map, error) {
	m := &Map{
		hostPorts: make(map[hostPort]rule),
		hosts:     make(map[string]rule),
		suffixes:  make(map[string]rule),
		def:       defaultRule,
	}
	haveDefault := false
	seenRegex := make(map[string]rule)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i == 0 || (i > 0 && len(bytes.TrimSpace(text[:i])) == 0) {
			continue
		}
		fields := strings.Fields(string(text))
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 && strings.HasPrefix(fields[2], "#") {
			fields = fields[:2]
		}
		if len(fields) != 2 {
			return nil, lineErr(line, "want \"pattern value\", got %d fields", len(fields))
		}
		pattern := fields[0]
		v, err := parseValue(fields[1])
		if err != nil {
			return nil, lineErr(line, "%v", err)
		}
		rl := rule{value: v, line: int32(line), pattern: pattern}
		if pattern == "default" {
			if haveDefault {
				return nil, lineErr(line, "second default line (first on line %d)", m.def.line)
			}
			haveDefault = true
			m.def = rl
			continue
		}
		if err := m.add(pattern, rl, seenRegex); err != nil {
			return nil, lineErr(line, "%s: %v", pattern, err)
		}
		m.n++
	}
	if err := sc.Err(); err != nil {
		return nil, lineErr(line+1, "%v", err)
	}
	return m, nil
}

func parseValue(s string) (Value, error) {
	s = strings.TrimSuffix(s, ";")
	if len(s) == 1 && s[0] >= '0' && s[0] <= '3' {
		return Value(s[0] - '0'), nil
	}
	return 0, fmt.Errorf("value %q is not 0, 1, 2 or 3", s)
}

func dupErr(first rule) error {
	return fmt.Errorf("duplicate pattern (first on line %d)", first.line)
}

func (m *Map) add(pattern string, r rule, seenRegex map[string]rule) error {
	switch {
	case strings.HasPrefix(pattern, "~"):
		expr := pattern[1:]
		if strings.HasPrefix(expr, "*") { // nginx's case-insensitive marker
			expr = "(?i)" + expr[1:]
		}
		if expr == "" || expr == "(?i)" {
			return fmt.Errorf("empty regular expression")
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return err
		}
		if first, dup := seenRegex[pattern]; dup {
			return dupErr(first)
		}
		seenRegex[pattern] = r
		m.regexes = append(m.regexes, regexRule{re: re, rule: r})
		return nil

	case strings.IndexByte(pattern, '/') >= 0:
		p, err := netip.ParsePrefix(pattern)
		if err != nil {
			return err
		}
		if p != p.Masked() {
			return fmt.Errorf("host bits set, did you mean %s?", p.Masked())
		}
		return m.addPrefix(p, r)

	case strings.HasPrefix(pattern, "*.") || strings.HasPrefix(pattern, "."):
		suffix := pattern[strings.IndexByte(pattern, '.')+1:]
		if strings.IndexByte(suffix, '*') >= 0 {
			return fmt.Errorf("only a leading \"*.\" wildcard is supported; use ~regex")
		}
		name, err := normalizeName(suffix)
		if err != nil {
			return err
		}
		if first, dup := m.suffixes[name]; dup {
			return dupErr(first)
		}
		m.suffixes[name] = r
		d := strings.Count(name, ".") + 1 // at most 127 for a valid name
		m.depths[d/64] |= 1 << (d % 64)
		return nil

	case strings.IndexByte(pattern, '*') >= 0:
		return fmt.Errorf("only a leading \"*.\" wildcard is supported; use ~regex")
	}

	if hostOnly(pattern) {
		host, ip, err := normalizeHost(pattern)
		if err != nil {
			return err
		}
		if first, dup := m.hosts[host]; dup {
			return dupErr(first)
		}
		m.hosts[host] = r
		if ip.IsValid() {
			return m.addPrefix(netip.PrefixFrom(ip, ip.BitLen()), r)
		}
		return nil
	}
	t, err := ParseTarget(pattern)
	if err != nil {
		return err
	}
	k := hostPort{t.Host, t.Port}
	if first, dup := m.hostPorts[k]; dup {
		return dupErr(first)
	}
	m.hostPorts[k] = r
	return nil
}

// hostOnly tells a bare host ("example.com", "::1", "[::1]") from a
// "host:port" pattern.
func hostOnly(p string) bool {
	if strings.HasPrefix(p, "[") {
		return strings.HasSuffix(p, "]")
	}
	return strings.Count(p, ":") != 1
}

func (m *Map) addPrefix(p netip.Prefix, r rule) error {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		// ::ffff:10.0.0.0/104 means 10.0.0.0/8; targets are unmapped too.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	t := &m.v6
	if p.Addr().Is4() {
		t = &m.v4
	}
	if first, ok := t.add(p, r); !ok {
		return dupErr(first)
	}
	return nil
}

// Len is the number of rules, not counting the default.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// Default is the decision when no rule matches.
func (m *Map) Default() Decision {
	if m == nil {
		return defaultRule.decision()
	}
	return m.def.decision()
}

// Decide maps a normalized target to a decision; see [Map] for the order.
// A nil *Map allows everything, which is what running without --acl means.
// Only regex rules cost an allocation; the rest is a few map lookups
// whose number depends on the target, not on the size of the map.
func (m *Map) Decide(t Target) Decision {
	if m == nil {
		return defaultRule.decision()
	}
	if len(m.hostPorts) > 0 {
		if r, ok := m.hostPorts[hostPort{t.Host, t.Port}]; ok {
			return r.decision()
		}
	}
	if r, ok := m.hosts[t.Host]; ok {
		return r.decision()
	}
	if t.IP.IsValid() {
		if r, _, ok := m.lookupAddr(t.IP); ok {
			return r.decision()
		}
	} else if len(m.suffixes) > 0 {
		// Longest suffix first: walk from the whole name towards the TLD.
		d := strings.Count(t.Host, ".") + 1
		for h := t.Host; ; d-- {
			if m.depths[d/64]&(1<<(d%64)) != 0 {
				if r, ok := m.suffixes[h]; ok {
					return r.decision()
				}
			}
			i := strings.IndexByte(h, '.')
			if i < 0 {
				break
			}
			h = h[i+1:]
		}
	}
	if len(m.regexes) > 0 {
		hp := t.String()
		for i := range m.regexes {
			re := &m.regexes[i]
			if re.re.MatchString(t.Host) || re.re.MatchString(hp) {
				return re.decision()
			}
		}
	}
	return m.def.decision()
}

// lookupAddr returns the most specific CIDR (or bare IP) rule covering ip
// and the length of its prefix.
func (m *Map) lookupAddr(ip netip.Addr) (rule, int, bool) {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return m.v4.lookup(ip)
	}
	return m.v6.lookup(ip)
}

// lookupAddrNil is lookupAddr for a map that may be nil.
func (m *Map) lookupAddrNil(ip netip.Addr) (rule, int, bool) {
	if m == nil {
		return rule{}, 0, false
	}
	return m.lookupAddr(ip)
}

// AllowsAddr reports whether the most specific CIDR or bare-IP line
// covering ip is an allow (1 or 3). [Guard.Check] applies the same test,
// plus the condition that the line is no broader than the private range
// it opens; use Guard to decide dials, this for diagnostics.
func (m *Map) AllowsAddr(ip netip.Addr) bool {
	r, _, ok := m.lookupAddrNil(ip)
	return ok && r.value.Allowed()
}
