package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rapidStreams is how many CONNECT streams the rapid-reset client opens
// and resets at once (the pattern of CVE-2023-44487).
const rapidStreams = 100

// rapidReset opens a TLS connection of its own, writes 100 CONNECT
// HEADERS each followed at once by RST_STREAM (CANCEL), all in one
// flush, then a PING and one more CONNECT that must work: the
// connection must survive (or be ended with GOAWAY, which is a defence,
// not a failure), the tunnel after the storm must echo, and the proxy
// must close every upstream the reset streams made it dial (the origin's
// open connections at the end say so).
func (s *soak) rapidReset(ctx context.Context, p *plan) outcome {
	d := net.Dialer{Timeout: s.cfg.openTimeout}
	nc, err := d.DialContext(ctx, "tcp", s.cfg.proxyTLS)
	if err != nil {
		return unexpected("open_error", "h2/rapid_reset: %v", err)
	}
	lv := s.track.add(s.cfg.stall, s.cfg.tunnelMax, func() { nc.Close() })
	defer s.track.remove(lv)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(s.cfg.openTimeout + s.cfg.stall))
	tc := tls.Client(nc, insecureTLS("h2"))
	if err := tc.HandshakeContext(ctx); err != nil {
		return unexpected("open_error", "h2/rapid_reset: tls: %v", err)
	}
	if pr := tc.ConnectionState().NegotiatedProtocol; pr != "h2" {
		return unexpected("open_error", "h2/rapid_reset: negotiated %q", pr)
	}
	bw := bufio.NewWriterSize(tc, 64<<10)
	fr := http2.NewFramer(bw, tc)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 64 << 10
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	headers := func(id uint32) error {
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
		enc.WriteField(hpack.HeaderField{Name: ":authority", Value: s.originAddr})
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
	}
	bw.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	for i := 0; i < rapidStreams; i++ {
		id := uint32(2*i + 1)
		headers(id)
		fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	fr.WritePing(false, [8]byte{'s', 'o', 'a', 'k'})
	check := uint32(2*rapidStreams + 1)
	headers(check)
	if err := bw.Flush(); err != nil {
		return unexpected("rapid_reset_write", "h2: %v", err)
	}
	s.st.rapidStreamsReset.Add(rapidStreams)
	lv.touch()

	// The tunnel after the storm: a short echo with its digest.
	n := 1 + p.rng.IntN(4<<10)
	data := s.rnd[p.start : p.start+n]
	var got []byte
	pinged, opened := false, false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if lv.why() != "" {
				return unexpected("rapid_reset_timeout", "h2: no answer to the stream after the storm (ping acked %v, tunnel open %v)", pinged, opened)
			}
			return unexpected("rapid_reset_conn_dropped", "h2: the connection ended without GOAWAY: %v (ping acked %v)", err, pinged)
		}
		lv.touch()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
				bw.Flush()
			}
		case *http2.PingFrame:
			if f.IsAck() {
				pinged = true
			} else {
				fr.WritePing(true, f.Data)
				bw.Flush()
			}
		case *http2.GoAwayFrame:
			s.st.rapidGoaways.Add(1)
			if f.LastStreamID < check {
				return expected("rapid_reset_goaway")
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != check {
				continue // an answer to a reset stream may still come
			}
			if st := f.PseudoValue("status"); st != "200" {
				return unexpected("rapid_reset_check_status", "h2: the CONNECT after the storm got %q", st)
			}
			opened = true
			pre := preamble(p.id, int64(n), actEcho, 0)
			if err := fr.WriteData(check, true, append([]byte(pre), data...)); err != nil {
				return unexpected("rapid_reset_write", "h2: %v", err)
			}
			bw.Flush()
		case *http2.DataFrame:
			if f.StreamID != check {
				continue
			}
			got = append(got, f.Data()...)
			if len(f.Data()) > 0 {
				// Give the window back, as any client would.
				fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				fr.WriteWindowUpdate(check, uint32(len(f.Data())))
				bw.Flush()
			}
			if f.StreamEnded() {
				return s.rapidVerify(data, got, pinged)
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == check {
				return unexpected("rapid_reset_check_reset", "h2: the CONNECT after the storm was reset (%v)", f.ErrCode)
			}
		}
	}
}

func (s *soak) rapidVerify(data, got []byte, pinged bool) outcome {
	if len(got) != len(data)+sha256.Size || !bytes.Equal(got[:len(data)], data) {
		return unexpected("echo_mismatch", "h2/rapid_reset: the tunnel after the storm echoed %d bytes, want %d and the digest", len(got), len(data))
	}
	if sum := sha256.Sum256(data); !bytes.Equal(got[len(data):], sum[:]) {
		return unexpected("digest_mismatch", "h2/rapid_reset: the origin's sha256 differs")
	}
	s.st.echoVerified.Add(int64(len(data)))
	s.st.digests.Add(1)
	if !pinged {
		return unexpected("rapid_reset_no_ping", "h2: the tunnel worked but the PING was never acknowledged")
	}
	return served("rapid_reset_survived")
}
