package acl

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashKind is one of the htpasswd formats both nginx (auth_basic_user_file)
// and Apache accept. Plain text and crypt(3) DES are accepted by both but
// refused here: a proxy password file that leaks should not leak passwords.
type hashKind uint8

const (
	kindBcrypt hashKind = iota + 1 // $2y$, $2a$, $2b$
	kindAPR1                       // $apr1$ MD5-crypt
	kindSHA                        // {SHA} base64(SHA-1), unsalted
)

// entry is one verified-at-load user. Everything is decoded up front so
// that a malformed hash is a load error, not a login failure at 3 a.m.
type entry struct {
	name string
	line int
	kind hashKind
	hash []byte // bcrypt: the whole "$2y$..." string; apr1: 22 chars; SHA: 20 bytes
	salt []byte // apr1 only
	cost int    // bcrypt only
}

// verify compares in constant time for the given entry: bcrypt does so
// internally, and the others compare fixed-size digests.
func (e *entry) verify(password []byte) bool {
	switch e.kind {
	case kindBcrypt:
		return bcrypt.CompareHashAndPassword(e.hash, password) == nil
	case kindAPR1:
		sum := apr1Sum(password, e.salt)
		return subtle.ConstantTimeCompare(sum[:], e.hash) == 1
	case kindSHA:
		sum := sha1.Sum(password)
		return subtle.ConstantTimeCompare(sum[:], e.hash) == 1
	}
	return false
}

// slower reports whether e costs more to verify than o, to pick the
// stand-in entry that unknown user names are verified against.
func (e *entry) slower(o *entry) bool {
	if o == nil {
		return true
	}
	if e.kind != o.kind {
		return e.kind < o.kind // bcrypt > apr1 > SHA, by the constant order
	}
	return e.kind == kindBcrypt && e.cost > o.cost
}

// Users is an immutable snapshot of an --auth-file. Reloading builds a new
// one and hands it to [Authenticator.SetUsers].
type Users struct {
	m map[string]*entry
	// stand is the slowest entry in the file. A name that is not in the
	// file is verified against it, so the time to answer does not tell a
	// prober which names exist.
	stand *entry
}

// Len is the number of users.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.m)
}

// LoadHtpasswd reads an htpasswd file. On error the caller keeps the users
// it already has; the error names file and line but never a hash.
func LoadHtpasswd(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u, err := ParseHtpasswd(f)
	if err != nil && !errors.As(err, new(*ParseError)) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, withFile(err, path)
}

// ErrNoUsers is returned for a file without a single user: on a reload
// that is almost always a truncated file, and keeping the old users beats
// locking everyone out.
var ErrNoUsers = errors.New("htpasswd file has no users")

// ParseHtpasswd reads "user:hash" lines, where hash is bcrypt ($2y$, $2a$,
// $2b$), Apache MD5 ($apr1$) or {SHA}. Anything after a second ':' is a
// comment, as nginx allows. Blank lines and lines starting with '#' are
// skipped. Other hash formats, empty hashes and duplicate users are
// errors that name the line.
func ParseHtpasswd(r io.Reader) (*Users, error) {
	u := &Users{m: make(map[string]*entry)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := string(bytes.TrimSpace(sc.Bytes()))
		if text == "" || text[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(text, ":")
		if !ok {
			return nil, lineErr(line, "want \"user:hash\", no ':' found")
		}
		if name == "" {
			return nil, lineErr(line, "empty user name")
		}
		hash, _, _ := strings.Cut(rest, ":")
		e, err := parseHash(hash)
		if err != nil {
			return nil, lineErr(line, "user %q: %v", name, err)
		}
		if first, dup := u.m[name]; dup {
			return nil, lineErr(line, "user %q already defined on line %d", name, first.line)
		}
		e.name, e.line = name, line
		u.m[name] = e
		if e.slower(u.stand) {
			u.stand = e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, lineErr(line+1, "%v", err)
	}
	if len(u.m) == 0 {
		return nil, ErrNoUsers
	}
	return u, nil
}

const formats = "use bcrypt ($2y$), $apr1$ or {SHA}, e.g. htpasswd -B"

// parseHash decodes and checks one hash field. Error messages describe the
// format only: the hash itself must not end up in a log.
func parseHash(h string) (*entry, error) {
	switch {
	case h == "":
		return nil, errors.New("empty password hash")

	case strings.HasPrefix(h, "$2y$") || strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$"):
		// $2$cost$ + 22 salt + 31 hash characters.
		if len(h) != 60 || h[6] != '$' || !inAlphabet(h[7:], bcryptAlphabet) {
			return nil, errors.New("malformed bcrypt hash")
		}
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil || h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' {
			return nil, errors.New("malformed bcrypt cost")
		}
		return &entry{kind: kindBcrypt, hash: []byte(h), cost: cost}, nil

	case strings.HasPrefix(h, apr1Magic):
		salt, sum, ok := strings.Cut(h[len(apr1Magic):], "$")
		if !ok || salt == "" || len(salt) > 8 || len(sum) != 22 || !inAlphabet(sum, cryptAlphabet) {
			return nil, errors.New("malformed $apr1$ hash")
		}
		return &entry{kind: kindAPR1, hash: []byte(sum), salt: []byte(salt)}, nil

	case strings.HasPrefix(h, "{SHA}"):
		d, err := base64.StdEncoding.DecodeString(h[len("{SHA}"):])
		if err != nil || len(d) != sha1.Size {
			return nil, errors.New("malformed {SHA} hash")
		}
		return &entry{kind: kindSHA, hash: d}, nil
	}
	for _, p := range rejectedPrefixes {
		if strings.HasPrefix(h, p) {
			return nil, fmt.Errorf("unsupported hash format %s; %s", p, formats)
		}
	}
	if len(h) == 13 && inAlphabet(h, cryptAlphabet) {
		return nil, fmt.Errorf("crypt(3) DES hashes are not accepted; %s", formats)
	}
	return nil, fmt.Errorf("unknown hash format (plain-text passwords are not accepted); %s", formats)
}

// rejectedPrefixes are formats nginx or Apache know and we do not, named in
// the error so the operator knows what to convert.
var rejectedPrefixes = []string{"$1$", "$5$", "$6$", "$2$", "$2x$", "{SSHA}", "{PLAIN}", "$argon2"}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func inAlphabet(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
