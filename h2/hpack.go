package h2

import (
	"errors"

	"golang.org/x/net/http2/hpack"
)

// headerDecoder decodes one field block at a time, incrementally, fragment
// by fragment, so no block is ever buffered whole. It keeps decoding past
// the budget with emission off, because the HPACK dynamic table must stay in
// step with the peer's encoder, and it records that the budget blew.
type headerDecoder struct {
	dec       *hpack.Decoder
	fields    []hpack.HeaderField // the block being decoded; reused
	size      uint32              // decoded size so far, RFC 9113 section 6.5.2 rule
	maxSize   uint32
	maxFields int
	overflow  bool // the block is over budget; fields is incomplete
}

func newHeaderDecoder(cfg *Config) *headerDecoder {
	d := &headerDecoder{maxSize: cfg.MaxHeaderListSize, maxFields: cfg.MaxHeaderFields}
	// NewDecoder both sizes the table and caps what a size update may ask
	// for at our advertised SETTINGS_HEADER_TABLE_SIZE (RFC 7541 section 6.3).
	d.dec = hpack.NewDecoder(cfg.HeaderTableSize, d.emit)
	d.dec.SetMaxStringLength(cfg.MaxFieldSize)
	return d
}

func (d *headerDecoder) emit(f hpack.HeaderField) {
	if d.overflow {
		return
	}
	d.size += f.Size()
	if d.size > d.maxSize || len(d.fields) >= d.maxFields {
		d.overflow = true
		d.dec.SetEmitEnabled(false)
		return
	}
	d.fields = append(d.fields, f)
}

// begin starts a new block.
func (d *headerDecoder) begin() {
	clear(d.fields) // drop the strings of the last block
	d.fields = d.fields[:0]
	d.size = 0
	d.overflow = false
	d.dec.SetEmitEnabled(true)
}

// write decodes one fragment. Every decoding failure is a connection error:
// the dynamic table can no longer be trusted.
func (d *headerDecoder) write(p []byte) error {
	if _, err := d.dec.Write(p); err != nil {
		return decodeError(err)
	}
	return nil
}

// end finishes the block: a field cut off at the end is a
// COMPRESSION_ERROR (RFC 9113 section 4.3).
func (d *headerDecoder) end() error {
	if err := d.dec.Close(); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	if errors.Is(err, hpack.ErrStringLength) {
		return connError(ErrCodeEnhanceYourCalm, "header field too large")
	}
	return connError(ErrCodeCompression, "hpack: "+err.Error())
}

// appendWriter is the io.Writer the HPACK encoder writes into: a byte slice
// reused for every block.
type appendWriter struct{ b []byte }

// Write appends p; it never fails, which hpack.Encoder relies on.
func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
