package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/sluice-proxy/sluice/acl"
)

// The files sluice reads at start and on SIGHUP. Each is read once, and
// the sha256 of exactly the bytes parsed tells a reload whether it changed.

// loadACL reads and compiles an --acl file; errors name file and line.
func loadACL(path string) (*acl.Map, [32]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, [32]byte{}, err
	}
	m, err := acl.ParseMap(bytes.NewReader(b))
	if err != nil {
		return nil, [32]byte{}, inFile(err, path)
	}
	return m, sha256.Sum256(b), nil
}

// loadUsers reads an --auth-file; errors name file and line, never a hash.
func loadUsers(path string) (*acl.Users, [32]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, [32]byte{}, err
	}
	u, err := acl.ParseHtpasswd(bytes.NewReader(b))
	if err != nil {
		return nil, [32]byte{}, inFile(err, path)
	}
	return u, sha256.Sum256(b), nil
}

// inFile puts the file name on an error from a parser that saw a reader.
func inFile(err error, path string) error {
	var pe *acl.ParseError
	if errors.As(err, &pe) {
		pe.File = path
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// loadCertPair reads --cert and --key. The sum covers both files.
func loadCertPair(certFile, keyFile string) (*tls.Certificate, [32]byte, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("certificate key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("certificate %s with key %s: %w", certFile, keyFile, err)
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	var sum [32]byte
	h.Sum(sum[:0])
	return &cert, sum, nil
}
