package acl

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Generated with `openssl passwd -apr1 -salt SALT PASS` (OpenSSL 3).
var apr1Vectors = []struct{ pass, hash string }{
	{"password", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"},
	{"hunter2", "$apr1$abc$bzgR0SUDJmwHi4ZbcgeM61"},
	{"", "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/"},
	{"a-much-longer-password-of-more-than-sixteen-bytes", "$apr1$12345678$xAizEBffk935s5RVcEbvM1"},
	{"pässwörd", "$apr1$Zz./09$SbaPI0bSvuSrnBy4EsLEC1"},
	{"secret", "$apr1$s$UoSp2veMyXxx3bp9uljYO/"},
}

// Generated with `printf %s PASS | openssl sha1 -binary | base64`, which is
// what `htpasswd -s` writes after "{SHA}".
var shaVectors = []struct{ pass, hash string }{
	{"password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
	{"", "{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
	{"hunter2", "{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0="},
}

func TestAPR1Vectors(t *testing.T) {
	for _, v := range apr1Vectors {
		e, err := parseHash(v.hash)
		if err != nil {
			t.Fatalf("%s: %v", v.hash, err)
		}
		if !e.verify([]byte(v.pass)) {
			sum := apr1Sum([]byte(v.pass), e.salt)
			t.Errorf("apr1(%q, %q) = %s, want %s", v.pass, e.salt, sum[:], e.hash)
		}
		if e.verify([]byte(v.pass + "x")) {
			t.Errorf("%s accepts a wrong password", v.hash)
		}
	}
}

func TestSHAVectors(t *testing.T) {
	for _, v := range shaVectors {
		e, err := parseHash(v.hash)
		if err != nil {
			t.Fatalf("%s: %v", v.hash, err)
		}
		if !e.verify([]byte(v.pass)) || e.verify([]byte(v.pass+"x")) {
			t.Errorf("{SHA} vector for %q does not verify exactly", v.pass)
		}
	}
}

func bcryptHash(t testing.TB, pass string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestBcryptVariants(t *testing.T) {
	h := bcryptHash(t, "s3cret", bcrypt.MinCost) // x/crypto writes $2a$
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		e, err := parseHash(prefix + h[4:])
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		if !e.verify([]byte("s3cret")) || e.verify([]byte("s3cret ")) {
			t.Errorf("%s hash does not verify exactly", prefix)
		}
	}
}

func TestParseHtpasswd(t *testing.T) {
	text := "# users\r\n" +
		"alice:" + bcryptHash(t, "alice-pw", bcrypt.MinCost) + "\r\n" +
		"\n" +
		"  bob:" + apr1Vectors[0].hash + ":Bob Builder, room 4  \n" +
		"carol:" + shaVectors[2].hash + "\n" +
		"dave@example.com:" + apr1Vectors[1].hash + "\n"
	u, err := ParseHtpasswd(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 4 {
		t.Fatalf("Len = %d, want 4", u.Len())
	}
	for name, pass := range map[string]string{"alice": "alice-pw", "bob": "password", "carol": "hunter2", "dave@example.com": "hunter2"} {
		e := u.m[name]
		if e == nil || e.name != name || !e.verify([]byte(pass)) || e.verify([]byte("nope")) {
			t.Errorf("user %q does not verify exactly", name)
		}
	}
	if u.stand == nil || u.stand.kind != kindBcrypt {
		t.Errorf("stand-in should be the bcrypt entry, got %+v", u.stand)
	}
}

func TestStandInIsSlowest(t *testing.T) {
	text := "a:" + shaVectors[0].hash + "\n" +
		"b:" + bcryptHash(t, "x", 4) + "\n" +
		"c:" + bcryptHash(t, "x", 5) + "\n" +
		"d:" + apr1Vectors[0].hash + "\n"
	u, err := ParseHtpasswd(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if u.stand != u.m["c"] {
		t.Errorf("stand-in is %q, want the cost-5 bcrypt user c", u.stand.name)
	}
	u, _ = ParseHtpasswd(strings.NewReader("a:" + shaVectors[0].hash + "\nd:" + apr1Vectors[0].hash + "\n"))
	if u.stand != u.m["d"] {
		t.Errorf("stand-in is %q, want the apr1 user d", u.stand.name)
	}
}

func TestParseHtpasswdErrors(t *testing.T) {
	good := "ok:" + shaVectors[0].hash + "\n"
	bc := bcryptHash(t, "x", bcrypt.MinCost)
	tests := []struct {
		text string
		line int
		msg  string
	}{
		{good + "plain:secret\n", 2, "unknown hash format"},
		{good + "# c\nplain:{PLAIN}secret\n", 3, "unsupported hash format {PLAIN}"},
		{good + "des:rl0uE5a3zJ9qA\n", 2, "crypt(3) DES"},
		{good + "md5:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n", 2, "unsupported hash format $1$"},
		{good + "sha512:$6$salt$abc\n", 2, "unsupported hash format $6$"},
		{good + "ssha:{SSHA}abcdefgh\n", 2, "unsupported hash format {SSHA}"},
		{good + "empty:\n", 2, "empty password hash"},
		{good + "nocolon\n", 2, "no ':'"},
		{good + ":" + shaVectors[0].hash + "\n", 2, "empty user name"},
		{good + "ok:" + apr1Vectors[0].hash + "\n", 2, "already defined on line 1"},
		{good + "short:" + bc[:59] + "\n", 2, "malformed bcrypt hash"},
		{good + "cost:" + bc[:4] + "99" + bc[6:] + "\n", 2, "malformed bcrypt cost"},
		{good + "alpha:" + bc[:50] + "!!!!!!!!!!" + "\n", 2, "malformed bcrypt hash"},
		{good + "apr:$apr1$saltsalt9$yAAkm4libquA.ZWLHbSBq/\n", 2, "malformed $apr1$"},
		{good + "apr:$apr1$$yAAkm4libquA.ZWLHbSBq/\n", 2, "malformed $apr1$"},
		{good + "apr:$apr1$salt$yAAkm4libquA.ZWLHbSBq\n", 2, "malformed $apr1$"},
		{good + "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g\n", 2, "malformed {SHA}"},
		{good + "sha:{SHA}AAAA\n", 2, "malformed {SHA}"},
	}
	for _, tt := range tests {
		_, err := ParseHtpasswd(strings.NewReader(tt.text))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want *ParseError", tt.text, err)
			continue
		}
		if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("%q: got %q (line %d), want line %d containing %q", tt.text, pe.Error(), pe.Line, tt.line, tt.msg)
		}
		// The hash must not leak into logs through the error.
		field := strings.SplitN(strings.Split(tt.text, "\n")[tt.line-1], ":", 2)
		if len(field) == 2 && len(field[1]) > 8 && strings.Contains(pe.Error(), field[1]) {
			t.Errorf("error %q quotes the hash", pe.Error())
		}
	}
	for _, empty := range []string{"", "# only a comment\n\n"} {
		if _, err := ParseHtpasswd(strings.NewReader(empty)); !errors.Is(err, ErrNoUsers) {
			t.Errorf("%q: err = %v, want ErrNoUsers", empty, err)
		}
	}
}

func TestLoadHtpasswd(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users")
	if err := os.WriteFile(good, []byte("u:"+shaVectors[0].hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, err := LoadHtpasswd(good); err != nil || u.Len() != 1 {
		t.Fatalf("LoadHtpasswd = %v, %v", u, err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("u:"+shaVectors[0].hash+"\nv:plain\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHtpasswd(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: ") {
		t.Errorf("LoadHtpasswd(bad) = %v, want %q prefix", err, bad+":2: ")
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHtpasswd(empty); !errors.Is(err, ErrNoUsers) || !strings.HasPrefix(err.Error(), empty) {
		t.Errorf("LoadHtpasswd(empty) = %v", err)
	}
}

// Thousands of users must load fast: parsing does not run bcrypt.
func TestParseManyUsers(t *testing.T) {
	h := bcryptHash(t, "x", 10)
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		b.WriteString("u" + strconv.Itoa(i) + ":" + h + "\n")
	}
	u, err := ParseHtpasswd(strings.NewReader(b.String()))
	if err != nil || u.Len() != 5000 {
		t.Fatalf("ParseHtpasswd: %v users, %v", u.Len(), err)
	}
}

// FuzzParseHtpasswd: any file either parses, has no users, or fails with
// the line it failed on.
func FuzzParseHtpasswd(f *testing.F) {
	f.Add("alice:$apr1$s4ltS4lt$1nkxik1yOAHzQUh.MUc2r/\n")
	f.Add("carol:{SHA}K0iV06co1hMmbAGRCwiosNjk1wQ=\n# comment\n\n")
	f.Add("bob:$2y$04$abcdefghijklmnopqrstuuJ0Xi3Y8o6nWQ0cF5yZq1Q5Q5Q5Q5Q5Q\n")
	f.Add("dup:x\ndup:y\n")
	f.Add("nocolon\n:empty\n")
	f.Fuzz(func(t *testing.T, text string) {
		u, err := ParseHtpasswd(strings.NewReader(text))
		if errors.Is(err, ErrNoUsers) {
			return // a file of comments and blank lines
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		_ = u.Len()
	})
}
