package main

import "runtime"

type timelinePoint struct {
	T float64 `json:"t_s"`
	reading
	InFlight   int64 `json:"in_flight"`
	Attempted  int64 `json:"tunnels_attempted"`
	Unexpected int64 `json:"unexpected_errors"`
}

type report struct {
	Tool     string         `json:"tool"`
	Started  string         `json:"started"`
	Finished string         `json:"finished"`
	Command  []string       `json:"command"`
	Seed     uint64         `json:"seed"`
	Config   map[string]any `json:"config"`
	GoClient string         `json:"client_go"`

	LoadSeconds float64 `json:"load_seconds"`
	CutAtEnd    int     `json:"tunnels_cut_at_end"`

	Tunnels struct {
		counts
		ByClass          map[string]counts `json:"by_class"`
		ByFault          map[string]counts `json:"by_fault"`
		ByClassFault     map[string]counts `json:"by_class_fault"`
		ServedByKind     map[string]int64  `json:"served_by_kind"`
		ExpectedFailures map[string]int64  `json:"expected_failures_by_kind"`
		InStorms         counts            `json:"in_storms"`
		ByName           counts            `json:"by_name"`
	} `json:"tunnels"`

	// Faults that were left out, and why.
	FaultsLeftOut map[string]string `json:"faults_left_out,omitempty"`

	// Vanish: by class, the vanished clients whose upstream the proxy
	// closed (and how fast) or kept past -vanish-wait.
	Vanish map[string]vanishReport `json:"client_vanish"`

	Storms []stormReport `json:"storms"`

	DNS struct {
		Queries  int64 `json:"queries"`
		Answered int64 `json:"answered"`
		NXDomain int64 `json:"nxdomain"`
		ServFail int64 `json:"servfail"`
	} `json:"dns"`

	BytesVerified struct {
		// EachWay: bytes that crossed the proxy up, came back down and
		// were compared with what was sent; each also crossed it twice.
		EachWay   int64 `json:"each_way"`
		BothWays  int64 `json:"both_ways"`
		Digests   int64 `json:"sha256_digests_matched"`
		UDPEachWy int64 `json:"udp_payload_each_way"`
	} `json:"bytes_verified"`

	UDP struct {
		Sent       int64   `json:"datagrams_sent"`
		Echoed     int64   `json:"datagrams_echoed"`
		Lost       int64   `json:"datagrams_lost"`
		Duplicates int64   `json:"duplicates"`
		LossPct    float64 `json:"loss_pct"`
	} `json:"udp"`

	RapidReset struct {
		StreamsReset int64 `json:"streams_reset"`
		Goaways      int64 `json:"goaways"`
	} `json:"h2_rapid_reset"`

	UnexpectedErrors struct {
		Total  int64               `json:"total"`
		ByKind map[string]*kindLog `json:"by_kind"`
	} `json:"unexpected_errors"`

	Proxy struct {
		PID           int             `json:"pid"`
		FDs           span            `json:"fds"`
		Threads       span            `json:"threads"`
		RSS           span            `json:"rss_bytes"`
		Goroutines    span            `json:"goroutines"`
		CPUSeconds    float64         `json:"cpu_seconds_during_load"`
		Settled       bool            `json:"settled"`
		SettleSeconds float64         `json:"settle_seconds"`
		Timeline      []timelinePoint `json:"timeline"`
	} `json:"proxy"`

	Origin struct {
		Accepted   int64 `json:"tcp_accepted"`
		NoPreamble int64 `json:"tcp_closed_before_preamble"`
		OpenAtEnd  int   `json:"tcp_open_after_settle"`
		UDPEchoed  int64 `json:"udp_echoed"`
	} `json:"origin"`

	H2Conns         int `json:"client_h2_conns"`
	H3Conns         int `json:"client_h3_conns"`
	H3DatagramConns int `json:"client_h3_datagram_conns"`
	Client          struct {
		CPUSeconds       float64 `json:"cpu_seconds_during_load"`
		GoroutinesBefore int     `json:"goroutines_before"`
		// After: with the tunnels done and the pools closed; the origins
		// and the DNS server (2 to 4 goroutines) still run.
		GoroutinesAfter int      `json:"goroutines_after"`
		LibraryLogLines int64    `json:"library_log_lines"`
		LibraryLogFirst []string `json:"library_log_first"`
	} `json:"client"`
}

func (r *report) addPoint(p timelinePoint) { r.Proxy.Timeline = append(r.Proxy.Timeline, p) }

func configReport(c config, mix []weight) map[string]any {
	m := map[string]any{}
	for _, w := range mix {
		m["mix_"+w.class] = w.w
	}
	for k, v := range map[string]any{
		"proxy_plain": c.proxyPlain, "proxy_tls": c.proxyTLS, "proxy_quic": c.proxyQUIC,
		"duration": c.duration.String(), "concurrency": c.concurrency, "fault_prob": c.faultProb,
		"max_bytes": c.maxBytes, "slow_max_bytes": c.slowMaxBytes, "open_timeout": c.openTimeout.String(),
		"stall": c.stall.String(), "blackhole_wait": c.blackholeWait.String(), "tunnel_max": c.tunnelMax.String(),
		"settle": c.settleMax.String(), "h2_streams": c.h2Streams, "h3_streams": c.h3Streams,
		"conn_reuse": c.connReuse, "slow_accept": c.slowAccept.String(), "dns": c.dns,
		"vanish_wait": c.vanishWait.String(), "storm_every": c.stormEvery.String(), "storm_size": c.stormSize,
		"max_tunnels": c.maxTunnels, "rate": c.rate, "faults": c.faults,
	} {
		m[k] = v
	}
	return m
}

// fill copies the counts of the run into the report.
func (r *report) fill(s *soak, smp *sampler, after reading) {
	r.GoClient = runtime.Version()
	st := s.st
	st.mu.Lock()
	r.Tunnels.counts = st.total
	r.Tunnels.ByClass = copyCounts(st.byClass)
	r.Tunnels.ByFault = copyCounts(st.byFault)
	r.Tunnels.ByClassFault = copyCounts(st.matrix)
	r.Tunnels.ServedByKind = copyInts(st.servedKinds)
	r.Tunnels.ExpectedFailures = copyInts(st.expKinds)
	r.Tunnels.InStorms, r.Tunnels.ByName = st.storm, st.byName
	r.UnexpectedErrors.ByKind = map[string]*kindLog{}
	for _, k := range sortedKeys(st.unexpected) {
		v := *st.unexpected[k]
		v.First = append([]string{}, v.First...)
		r.UnexpectedErrors.ByKind[k] = &v
		r.UnexpectedErrors.Total += v.Count
	}
	st.mu.Unlock()
	r.BytesVerified.EachWay = st.echoVerified.Load()
	r.BytesVerified.BothWays = 2 * r.BytesVerified.EachWay
	r.BytesVerified.Digests = st.digests.Load()
	r.BytesVerified.UDPEachWy = st.udpVerified.Load()
	r.UDP.Sent, r.UDP.Echoed, r.UDP.Lost, r.UDP.Duplicates = st.udpSent.Load(), st.udpEchoed.Load(), st.udpLost.Load(), st.udpDup.Load()
	if r.UDP.Sent > 0 {
		r.UDP.LossPct = 100 * float64(r.UDP.Lost) / float64(r.UDP.Sent)
	}
	r.RapidReset.StreamsReset, r.RapidReset.Goaways = st.rapidStreamsReset.Load(), st.rapidGoaways.Load()
	r.Proxy.PID = s.cfg.pid
	r.FaultsLeftOut = map[string]string{}
	if !s.canRepair {
		r.FaultsLeftOut[fVanish+" (h1, h1tls, udp-h1)"] = "TCP_REPAIR is not allowed (needs CAP_NET_ADMIN)"
	}
	if s.dns == nil {
		r.FaultsLeftOut[fDNSFail+", "+fBadName] = "no -dns: the proxy's lookups would leave the machine"
	} else {
		r.DNS.Queries, r.DNS.Answered = s.dns.queries.Load(), s.dns.answered.Load()
		r.DNS.NXDomain, r.DNS.ServFail = s.dns.nxdomain.Load(), s.dns.servfail.Load()
	}
	r.Proxy.FDs, r.Proxy.Threads, r.Proxy.RSS, r.Proxy.Goroutines = smp.spans(after)
}
