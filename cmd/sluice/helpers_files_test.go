package main

// Files for the configuration tests: config files, certificate and key
// pairs, and a whole set of valid files that an example config can point
// to.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeConfig writes a config file into a temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.conf")
	writeFileAtomic(t, path, text)
	return path
}

// writeCertPair writes a self-signed PEM certificate for localhost and
// 127.0.0.1 with common name cn, valid until notAfter, and its key, to
// dir/<name>.crt and dir/<name>.key (replacing them atomically).
func writeCertPair(t *testing.T, dir, name, cn string, notAfter time.Time) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notAfter.Add(-48 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writeFileAtomic(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFileAtomic(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certPath, keyPath
}

// servedCN is the common name of the certificate the TLS listener at addr
// presents.
func servedCN(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// freePort returns a loopback address nothing listens on (bound, then
// closed).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// validFiles makes, under dir, one valid file of each kind a config can
// name: a certificate and key, an htpasswd file, an ACL map and a site
// directory, at the paths given relative to dir.
func validFiles(t *testing.T, dir string, cert, key, users, aclMap, site string) {
	t.Helper()
	for _, p := range []string{cert, key, users, aclMap, site} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, k := writeCertPair(t, t.TempDir(), "pair", "example", time.Now().Add(90*24*time.Hour))
	for src, dst := range map[string]string{c: cert, k: key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFileAtomic(t, filepath.Join(dir, dst), string(b))
	}
	writeFileAtomic(t, filepath.Join(dir, users), bcryptLine(t, "alice", "alice-Secret-1", "$2y$")+"\n")
	writeFileAtomic(t, filepath.Join(dir, aclMap), "default 1\n*.internal.test 0\n")
	if err := os.MkdirAll(filepath.Join(dir, site), 0o755); err != nil {
		t.Fatal(err)
	}
}
