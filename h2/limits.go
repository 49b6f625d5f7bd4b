package h2

import "time"

// Config holds the settings we advertise and the limits we enforce. The zero
// value of every field means its default, so Config{} is a sane server.
type Config struct {
	// Profile is whose server the connection preface looks like.
	Profile Profile
	// MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS; a HEADERS past
	// it gets REFUSED_STREAM (RFC 9113 section 5.1.2). Default 100.
	MaxConcurrentStreams uint32
	// InitialWindowSize is the per-stream receive window we advertise.
	// Default 256 KiB.
	InitialWindowSize uint32
	// ConnWindowSize is the connection receive window; the part above the
	// protocol's 65535 is granted by a WINDOW_UPDATE right after our SETTINGS.
	// Default 1 MiB.
	ConnWindowSize uint32
	// MaxFrameSize is SETTINGS_MAX_FRAME_SIZE, the largest frame payload a
	// client may send. A frame is handled once it is whole, so a connection
	// may hold one partial frame of this size. Larger frames cut the cost of
	// uploads from clients that write one frame per socket write (Go's
	// Transport). Default 64 KiB; at least the protocol's 16 KiB (which
	// h2spec assumes), at most 2^24-1 (nginx's).
	MaxFrameSize uint32
	// MaxHeaderListSize bounds a decoded field block (name+value+32 per
	// field, RFC 9113 section 6.5.2), advertised as
	// SETTINGS_MAX_HEADER_LIST_SIZE. Default 64 KiB.
	MaxHeaderListSize uint32
	// MaxHeaderFields bounds the number of fields in a block, each cookie
	// crumb counted. Default 100.
	MaxHeaderFields int
	// HeaderTableSize is the HPACK decoder's dynamic table, advertised as
	// SETTINGS_HEADER_TABLE_SIZE. Default 4096.
	HeaderTableSize uint32
	// MaxFieldSize bounds one decoded name or value; HPACK keeps a partial
	// field across frames, so this bounds that buffer too. Default 16 KiB.
	MaxFieldSize int
	// MaxContinuations bounds the CONTINUATION frames of one field block
	// (nghttp2's number; CVE-2024-27316 and friends). Default 8.
	MaxContinuations int
	// MaxQueuedControlFrames bounds the SETTINGS ACK, PING ACK and RST_STREAM
	// frames appended since the last ResetOutput: a peer that floods them
	// while not reading its socket gets ENHANCE_YOUR_CALM (CVE-2019-9512,
	// CVE-2019-9515). Default 1000.
	MaxQueuedControlFrames int
	// MaxEmptyFrames bounds consecutive DATA, HEADERS and CONTINUATION frames
	// that carry nothing and end nothing (CVE-2019-9518). Default 16.
	MaxEmptyFrames int
	// JunkAllowance is nginx's flood ratio: the connection fails once an
	// eighth of all frame bytes received exceeds the useful payload bytes
	// (DATA and field blocks, both ways) plus this allowance. It catches
	// floods of frames that queue no answer (PRIORITY, WINDOW_UPDATE,
	// unknown types). Default 1 MiB.
	JunkAllowance int64
	// MaxNewStreamsPerFeed bounds the streams one Feed call may open (nginx
	// refuses past 2 x its stream limit per read event). Default
	// 2 x MaxConcurrentStreams.
	MaxNewStreamsPerFeed int
	// MaxSettingsEntries bounds the parameters of one SETTINGS frame.
	// Duplicates are legal, so only the count is capped. Default 32.
	MaxSettingsEntries int
	// PrematureResetMinStreams and PrematureResetLifetime are Envoy's rapid
	// reset rule (CVE-2023-44487): once this many streams were opened, the
	// connection fails with ENHANCE_YOUR_CALM if more than half of them were
	// reset, by the client or by us (CVE-2025-8671, "MadeYouReset"), before
	// a response went out and within PrematureResetLifetime of opening.
	// Streams refused at opening count as reset. Defaults 500 and 1 s.
	PrematureResetMinStreams int
	PrematureResetLifetime   time.Duration
	// ControlFrameRate and ControlFrameBurst rate-limit the PING and SETTINGS
	// frames a client sends (a token bucket, frames per second): each costs
	// us an answer, and a peer reading its socket slowly enough can still
	// stay under MaxQueuedControlFrames while it grows the caller's outbound
	// buffer. Defaults 100/s and a burst of 1000.
	ControlFrameRate  int
	ControlFrameBurst int
	// EagerConnWindow returns connection-window credit as soon as DATA is
	// delivered to OnData instead of on Consumed; stream windows still wait
	// for Consumed. Memory per connection is then bounded by the stream
	// windows alone (MaxConcurrentStreams x InitialWindowSize), and one
	// stalled upstream cannot hold the whole connection's window (head of
	// line blocking) the way it can when ConnWindowSize is below that sum.
	EagerConnWindow bool
	// Now is the clock for the rapid reset rule and the rate limit. Default time.Now; tests
	// inject their own.
	Now func() time.Time
}

// withDefaults returns cfg with every zero field replaced by its default.
func (cfg Config) withDefaults() Config {
	if cfg.MaxConcurrentStreams == 0 {
		cfg.MaxConcurrentStreams = 100
	}
	if cfg.InitialWindowSize == 0 {
		cfg.InitialWindowSize = 256 << 10
	}
	if cfg.InitialWindowSize > maxWindow {
		cfg.InitialWindowSize = maxWindow
	}
	if cfg.ConnWindowSize == 0 {
		cfg.ConnWindowSize = 1 << 20
	}
	if cfg.ConnWindowSize < defaultInitialWindowSize {
		// The connection window starts at 65535 and can only be grown.
		cfg.ConnWindowSize = defaultInitialWindowSize
	}
	if cfg.ConnWindowSize > maxWindow {
		cfg.ConnWindowSize = maxWindow
	}
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = defaultMaxReadFrameSize
	}
	cfg.MaxFrameSize = min(max(cfg.MaxFrameSize, DefaultMaxFrameSize), MaxFrameSizeLimit)
	if cfg.MaxHeaderListSize == 0 {
		cfg.MaxHeaderListSize = 64 << 10
	}
	if cfg.MaxHeaderFields == 0 {
		cfg.MaxHeaderFields = 100
	}
	if cfg.HeaderTableSize == 0 {
		cfg.HeaderTableSize = defaultHeaderTableSize
	}
	if cfg.MaxFieldSize == 0 {
		cfg.MaxFieldSize = 16 << 10
	}
	if cfg.MaxContinuations == 0 {
		cfg.MaxContinuations = 8
	}
	if cfg.MaxQueuedControlFrames == 0 {
		cfg.MaxQueuedControlFrames = 1000
	}
	if cfg.MaxEmptyFrames == 0 {
		cfg.MaxEmptyFrames = 16
	}
	if cfg.JunkAllowance == 0 {
		cfg.JunkAllowance = 1 << 20
	}
	if cfg.MaxNewStreamsPerFeed == 0 {
		cfg.MaxNewStreamsPerFeed = 2 * int(cfg.MaxConcurrentStreams)
	}
	if cfg.MaxSettingsEntries == 0 {
		cfg.MaxSettingsEntries = 32
	}
	if cfg.PrematureResetMinStreams == 0 {
		cfg.PrematureResetMinStreams = 500
	}
	if cfg.PrematureResetLifetime == 0 {
		cfg.PrematureResetLifetime = time.Second
	}
	if cfg.ControlFrameRate == 0 {
		cfg.ControlFrameRate = 100
	}
	if cfg.ControlFrameBurst == 0 {
		cfg.ControlFrameBurst = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// resetGuard implements the rapid reset rule over one connection's life.
type resetGuard struct {
	streams   int // streams opened or refused at opening
	premature int // of those, reset early by either side
}

// note records a stream that ended; premature says whether it was reset
// within the lifetime. It reports whether the connection crossed the line.
func (g *resetGuard) note(premature bool, cfg *Config) bool {
	if premature {
		g.premature++
	}
	return g.streams >= cfg.PrematureResetMinStreams && 2*g.premature > g.streams
}

// floodGuard counts what nginx and Envoy count to catch frames that cost us
// work while moving nothing.
type floodGuard struct {
	total    int64 // frame bytes received, headers included
	payload  int64 // useful bytes: DATA and field blocks in, DATA out
	emptyRun int   // consecutive empty DATA/HEADERS/CONTINUATION
}

func (g *floodGuard) junk(cfg *Config) bool {
	return g.total/8 > g.payload+cfg.JunkAllowance
}

// tokenBucket rate-limits a kind of frame.
type tokenBucket struct {
	tokens float64
	last   time.Duration
}

// take spends a token if one is left, refilling rate per second up to
// burst since the last call.
func (b *tokenBucket) take(now time.Duration, rate, burst int) bool {
	if now > b.last {
		b.tokens = min(float64(burst), b.tokens+(now-b.last).Seconds()*float64(rate))
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Profile picks the SETTINGS a server sends before it knows anything of
// its client, which a prober can read without credentials.
type Profile uint8

const (
	// ProfileSluice is the proxy's own tuning: extended CONNECT
	// (connect-udp) on, RFC 7540 priorities off.
	ProfileSluice Profile = iota
	// ProfileGo is what Go's net/http server sends by default, in its
	// order: MAX_FRAME_SIZE (1 MiB from GoDefaults), then MAX_CONCURRENT_STREAMS,
	// MAX_HEADER_LIST_SIZE, HEADER_TABLE_SIZE and INITIAL_WINDOW_SIZE from
	// Config, no ENABLE_CONNECT_PROTOCOL (so no connect-udp over HTTP/2),
	// then the connection WINDOW_UPDATE. Use GoDefaults for the values
	// Go itself would put in them.
	ProfileGo
)

// defaultMaxReadFrameSize is the MaxFrameSize we advertise by default. Go's
// Transport writes one frame per socket write, up to the frame size: at the
// protocol's 16 KiB an upload costs the proxy a wake-up, a read and an
// upstream write per 16 KiB, about 30% more CPU per byte than the same bytes
// in HTTP/1.1 inside TLS; at 64 KiB about 10% more. Larger frames gained
// nothing measurable, and each connection may hold a partial one.
const defaultMaxReadFrameSize = 64 << 10

// goMaxFrameSize is the frame size Go's server reads and advertises.
const goMaxFrameSize = 1 << 20

// GoDefaults returns cfg with the values of a default Go net/http HTTP/2
// server where cfg has none: 250 streams, 1 MiB windows and frames, a header list of
// 1 MiB plus 320 bytes, and within it no smaller limit on a field, on the
// number of fields or on the CONTINUATION frames of 16 KiB that carry
// them (Go bounds only the bytes), and Go's 100 parameters per SETTINGS.
// The empty-frame and flood guards stay.
func GoDefaults(cfg Config) Config {
	cfg.Profile = ProfileGo
	if cfg.MaxConcurrentStreams == 0 {
		cfg.MaxConcurrentStreams = 250
	}
	if cfg.InitialWindowSize == 0 {
		cfg.InitialWindowSize = 1 << 20
	}
	if cfg.ConnWindowSize == 0 {
		cfg.ConnWindowSize = 1 << 20
	}
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = goMaxFrameSize
	}
	if cfg.MaxHeaderListSize == 0 {
		cfg.MaxHeaderListSize = 1<<20 + 32*10
	}
	if cfg.MaxFieldSize == 0 {
		cfg.MaxFieldSize = int(cfg.MaxHeaderListSize)
	}
	if cfg.MaxHeaderFields == 0 {
		cfg.MaxHeaderFields = int(cfg.MaxHeaderListSize / 32) // each field costs 32 bytes more than its text
	}
	if cfg.MaxContinuations == 0 {
		cfg.MaxContinuations = int(cfg.MaxHeaderListSize/DefaultMaxFrameSize) + 1
	}
	if cfg.MaxSettingsEntries == 0 {
		cfg.MaxSettingsEntries = goMaxSettings
	}
	return cfg
}
