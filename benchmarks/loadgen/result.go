package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// result is one run. Zero fields are left out of the JSON; the report
// reads the ones its test needs.
type result struct {
	Test  string `json:"test,omitempty"`
	Peer  string `json:"peer,omitempty"`
	Mode  string `json:"mode"`
	Proto string `json:"proto"`
	C     int    `json:"c"`
	Conns int    `json:"conns,omitempty"` // h2, h3: TLS or QUIC connections carrying the streams
	Dir   string `json:"dir,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`   // bulk: per tunnel and direction
	Pad   bool   `json:"padding,omitempty"` // -padding: NaïveProxy padding asked for and granted on every tunnel

	Ops        int64   `json:"ops"`                   // tunnels (setup, first8, idle) or round trips (rr) or tunnels finished (bulk)
	RoundTrips int64   `json:"round_trips,omitempty"` // first8: echo round trips done (8 per tunnel, and those of failed tunnels)
	Errors     int64   `json:"errors"`                // failed operations
	FirstError string  `json:"first_error,omitempty"` // the first failure, to tell a refusal from a timeout
	Elapsed    float64 `json:"elapsed_s"`             // measured phase, seconds
	Rate       float64 `json:"rate"`                  // ops per second
	P50        float64 `json:"p50_us,omitempty"`      // first8: of one round trip
	P99        float64 `json:"p99_us,omitempty"`
	P999       float64 `json:"p999_us,omitempty"`
	MBps       float64 `json:"mb_s,omitempty"`         // bulk: payload MB (1e6) per second, both directions added
	Moved      int64   `json:"moved,omitempty"`        // bulk: payload bytes moved
	ClientCPU  float64 `json:"client_cpu_s"`           // this tool's CPU in the measured phase
	ProxyCPU   float64 `json:"proxy_cpu_s"`            // the proxy's utime+stime in the measured phase
	CPUPerOp   float64 `json:"cpu_us_per_op"`          // proxy CPU µs per tunnel (setup, first8, idle) or round trip (rr)
	CPUPerGB   float64 `json:"cpu_s_per_gb,omitempty"` // bulk: proxy CPU seconds per 1e9 payload bytes

	RSSBase      int64   `json:"rss_base,omitempty"`       // idle: proxy RSS before the first tunnel
	RSSAfter     int64   `json:"rss_after,omitempty"`      // idle: proxy RSS with all tunnels open
	RSSMax       int64   `json:"rss_max,omitempty"`        // peak proxy RSS seen (sampled every 50 ms)
	RSSPerTunnel float64 `json:"rss_per_tunnel,omitempty"` // idle: (after-base)/tunnels
	FDsPerTunnel float64 `json:"fds_per_tunnel,omitempty"` // idle: proxy fds added per tunnel
	FDLimit      int64   `json:"fd_limit,omitempty"`       // the proxy's soft RLIMIT_NOFILE

	Size            int      `json:"size,omitempty"`              // dgram: datagram payload bytes
	Window          int      `json:"window,omitempty"`            // dgram: datagrams in flight per flow
	Sent            int64    `json:"sent,omitempty"`              // dgram: datagrams sent (ops: those back within -lost-after)
	Lost            int64    `json:"lost,omitempty"`              // dgram: datagrams not back within -lost-after
	Late            int64    `json:"late,omitempty"`              // dgram: lost ones that came back after all
	LossPct         *float64 `json:"loss_pct,omitempty"`          // dgram: 100 * lost / sent (present when anything was sent, so 0 shows)
	CPUPerDgram     float64  `json:"cpu_us_per_dgram,omitempty"`  // dgram: proxy CPU µs per datagram sent (relayed up, and its echo down)
	UDPRcvbufErrors *int64   `json:"udp_rcvbuf_errors,omitempty"` // dgram: the host's UDP receive-buffer drops in the phase (any socket; present, so 0 shows)

	LoginMS float64     `json:"login_ms,omitempty"` // authstorm: a new user's CONNECT during the storm
	Codes   map[int]int `json:"codes,omitempty"`    // authstorm: how the guesses were answered
}

// finish derives the per-operation numbers from the raw ones.
func (r *result) finish() {
	if r.Elapsed > 0 {
		r.Rate = float64(r.Ops) / r.Elapsed
		if r.Moved > 0 {
			r.MBps = float64(r.Moved) / 1e6 / r.Elapsed
		}
	}
	if r.Ops > 0 && r.Mode != "bulk" {
		r.CPUPerOp = r.ProxyCPU * 1e6 / float64(r.Ops)
	}
	if r.Mode == "dgram" && r.Sent > 0 {
		r.CPUPerDgram = r.ProxyCPU * 1e6 / float64(r.Sent)
	}
	if r.Moved > 0 {
		r.CPUPerGB = r.ProxyCPU / (float64(r.Moved) / 1e9)
	}
}

func (r *result) print(w io.Writer, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w,
		"%s %s c=%d ops=%d errors=%d elapsed=%.2fs rate=%.0f/s p50=%.0fµs p99=%.0fµs p999=%.0fµs MB/s=%.1f proxy_cpu=%.2fs cpu/op=%.1fµs cpu/GB=%.3fs client_cpu=%.2fs rss/tunnel=%.0fB fds/tunnel=%.2f rss_max=%d\n",
		r.Mode, r.Proto, r.C, r.Ops, r.Errors, r.Elapsed, r.Rate, r.P50, r.P99, r.P999, r.MBps,
		r.ProxyCPU, r.CPUPerOp, r.CPUPerGB, r.ClientCPU, r.RSSPerTunnel, r.FDsPerTunnel, r.RSSMax)
	if err == nil && r.Mode == "dgram" {
		loss := 0.0
		if r.LossPct != nil {
			loss = *r.LossPct
		}
		var drops int64
		if r.UDPRcvbufErrors != nil {
			drops = *r.UDPRcvbufErrors
		}
		_, err = fmt.Fprintf(w, "dgram: sent=%d lost=%d (%.3f%%) late=%d cpu/datagram=%.2fµs udp_rcvbuf_errors=%d\n",
			r.Sent, r.Lost, loss, r.Late, r.CPUPerDgram, drops)
	}
	if err == nil && r.FirstError != "" {
		_, err = fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	return err
}
