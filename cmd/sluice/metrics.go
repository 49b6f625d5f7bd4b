package main

import (
	"fmt"
	"net/http"
)

// metricsHandler serves the engine counters in Prometheus text format.
func (s *server) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := s.eng.Stats()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for _, m := range []struct {
			name, help, kind string
			v                int64
		}{
			{"sluice_connections_accepted_total", "client connections accepted", "counter", st.Accepted},
			{"sluice_connections_rejected_total", "client connections refused by --max-conns", "counter", st.Rejected},
			{"sluice_accept_errors_total", "accept errors (EMFILE and others)", "counter", st.AcceptErrors},
			{"sluice_connections_active", "client connections open now", "gauge", st.Active},
			{"sluice_read_pauses_total", "times a socket was detached to stop reading (backpressure)", "counter", st.Parks},
			{"sluice_read_resumes_total", "times a paused socket was enrolled again", "counter", st.Unparks},
			{"sluice_tls_handshake_errors_total", "failed TLS handshakes", "counter", st.HandshakeErrors},
			{"sluice_tunnels_spliced", "tunnels on splice(2) now", "gauge", s.splices.Active()},
		} {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.kind, m.name, m.v)
		}
	})
}
