package main

import (
	"fmt"
	"strings"
)

// markdown is the short summary of a report (-md): the figures a reader
// wants first; the JSON has everything else (the class × fault matrix,
// the timeline, the first messages of each error kind).
func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Soak %s\n\n", r.Started)
	w("`%s`\n\n", strings.Join(r.Command, " "))
	w("Load %.0f s (seed %d), finished %s; the proxy settled: %v after %.0f s. CPU during the load: the proxy %.0f s, the soak tool %.0f s.\n\n",
		r.LoadSeconds, r.Seed, r.Finished, r.Proxy.Settled, r.Proxy.SettleSeconds, r.Proxy.CPUSeconds, r.Client.CPUSeconds)

	t := r.Tunnels
	w("## Tunnels\n\n%d attempted: %d served, %d failed as their fault expects, **%d unexpected**", t.Attempted, t.Served, t.FailedExpected, t.FailedUnexpected)
	w(" (%d of them in %d storms, %d by name through the soak's DNS; %d cut at the end).\n\n", t.InStorms.Attempted, len(r.Storms), t.ByName.Attempted, r.CutAtEnd)
	w("| class | attempted | served | expected failures | unexpected |\n|---|---|---|---|---|\n")
	for _, k := range sortedKeys(t.ByClass) {
		c := t.ByClass[k]
		w("| %s | %d | %d | %d | %d |\n", k, c.Attempted, c.Served, c.FailedExpected, c.FailedUnexpected)
	}
	w("\n| fault | attempted | served | expected failures | unexpected |\n|---|---|---|---|---|\n")
	for _, k := range sortedKeys(t.ByFault) {
		c := t.ByFault[k]
		w("| %s | %d | %d | %d | %d |\n", k, c.Attempted, c.Served, c.FailedExpected, c.FailedUnexpected)
	}
	w("\nExpected failures by kind: %s.\n\n", kv(t.ExpectedFailures))
	for k, why := range r.FaultsLeftOut {
		w("Left out: %s (%s).\n\n", k, why)
	}

	bv := r.BytesVerified
	w("## Bytes verified\n\n%s each way through TCP tunnels (%s counting both directions), %d origin sha256 digests matched; %s of UDP payload each way (%d datagrams sent, %d echoed, %d lost = %.3f %%, %d duplicates).\n\n",
		size(bv.EachWay), size(bv.BothWays), bv.Digests, size(bv.UDPEachWy), r.UDP.Sent, r.UDP.Echoed, r.UDP.Lost, r.UDP.LossPct, r.UDP.Duplicates)

	w("## Unexpected errors: %d\n\n", r.UnexpectedErrors.Total)
	if r.UnexpectedErrors.Total > 0 {
		w("| kind | count | first |\n|---|---|---|\n")
		for _, k := range sortedKeys(r.UnexpectedErrors.ByKind) {
			e := r.UnexpectedErrors.ByKind[k]
			first := ""
			if len(e.First) > 0 {
				first = strings.ReplaceAll(e.First[0], "|", "\\|")
			}
			w("| %s | %d | %s |\n", k, e.Count, first)
		}
		w("\n")
	}

	p := r.Proxy
	w("## The proxy (pid %d)\n\n| | before | peak | after |\n|---|---|---|---|\n", p.PID)
	w("| fds | %d | %d | %d |\n| threads | %d | %d | %d |\n| goroutines | %d | %d | %d |\n",
		p.FDs.Before, p.FDs.Peak, p.FDs.After, p.Threads.Before, p.Threads.Peak, p.Threads.After,
		p.Goroutines.Before, p.Goroutines.Peak, p.Goroutines.After)
	w("| RSS MiB | %.1f | %.1f | %.1f |\n\n", mib(p.RSS.Before), mib(p.RSS.Peak), mib(p.RSS.After))
	if len(r.Storms) > 0 {
		w("Storms (threads before / peak / 10 s after each): ")
		var parts []string
		for _, s := range r.Storms {
			parts = append(parts, fmt.Sprintf("%.0fs %d/%d/%d", s.T, s.ThreadsBefore, s.ThreadsPeak, s.ThreadsAfter))
		}
		w("%s.\n\n", strings.Join(parts, ", "))
	}
	if len(r.Vanish) > 0 {
		w("Vanished clients (upstream closed by the proxy / kept past -vanish-wait, p50 / max seconds): ")
		var parts []string
		for _, k := range sortedKeys(r.Vanish) {
			v := r.Vanish[k]
			parts = append(parts, fmt.Sprintf("%s %d/%d, %.1f/%.1f s", k, v.Detected, v.Missed, v.P50Seconds, v.MaxSeconds))
		}
		w("%s.\n\n", strings.Join(parts, "; "))
	}
	w("The soak tool's own goroutines: %d at the start, %d at the end.\n\n", r.Client.GoroutinesBefore, r.Client.GoroutinesAfter)
	w("Origin: %d TCP connections accepted, %d open after the settle. DNS: %d queries (%d answered, %d NXDOMAIN, %d SERVFAIL). h2 rapid reset: %d streams reset, %d GOAWAYs.\n",
		r.Origin.Accepted, r.Origin.OpenAtEnd, r.DNS.Queries, r.DNS.Answered, r.DNS.NXDomain, r.DNS.ServFail, r.RapidReset.StreamsReset, r.RapidReset.Goaways)
	return b.String()
}

func kv(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func mib(v int64) float64 { return float64(v) / (1 << 20) }

func size(v int64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(v)/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20))
	}
	return fmt.Sprintf("%d B", v)
}
