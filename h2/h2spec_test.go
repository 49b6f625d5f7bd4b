package h2

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/summerwind/h2spec/config"
	"github.com/summerwind/h2spec/generic"
	h2spechpack "github.com/summerwind/h2spec/hpack"
	h2spechttp2 "github.com/summerwind/h2spec/http2"
	"github.com/summerwind/h2spec/spec"
)

// TestH2Spec runs every h2spec case in strict mode (146 of them) against the
// test adapter over plain h2c with prior knowledge, and fails unless all
// pass with none skipped. Case 4.2/3 needs a HEADERS frame above our
// SETTINGS_MAX_FRAME_SIZE: five dummy fields of MaxHeaderLen bytes (h2spec's
// --max-header-length) go past 64 KiB even Huffman-coded, and each stays
// under MaxFieldSize.
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec takes a while")
	}
	s := startTestServer(t, Config{})
	host, port, _ := net.SplitHostPort(s.addr())
	p, _ := strconv.Atoi(port)
	conf := &config.Config{
		Host:         host,
		Port:         p,
		Path:         "/",
		Timeout:      2 * time.Second,
		MaxHeaderLen: 16000,
		Strict:       true,
	}
	groups := []*spec.TestGroup{generic.Spec(), h2spechttp2.Spec(), h2spechpack.Spec()}
	var passed, failed, skipped int
	for _, g := range groups {
		g.Test(conf)
		passed += g.PassedCount
		failed += g.FailedCount
		skipped += g.SkippedCount
	}
	var report func(g *spec.TestGroup)
	report = func(g *spec.TestGroup) {
		for _, tc := range append(g.Tests, g.StrictTests...) {
			if r := tc.Result; r != nil && (r.Failed || r.Skipped) {
				t.Errorf("h2spec %s/%d %q: failed=%v skipped=%v: %v", g.ID(), r.Sequence, tc.Desc, r.Failed, r.Skipped, r.Error)
			}
		}
		for _, sg := range g.Groups {
			report(sg)
		}
	}
	for _, g := range groups {
		report(g)
	}
	total := passed + failed + skipped
	t.Logf("h2spec strict: %d/%d passed, %d failed, %d skipped", passed, total, failed, skipped)
	if passed != 146 || failed != 0 || skipped != 0 {
		t.Fatalf("h2spec strict: %d/%d passed, %d failed, %d skipped; want 146/146", passed, total, failed, skipped)
	}
}
