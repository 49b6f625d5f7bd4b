package h1

import "bytes"

// headSyntax says how a head's start line is checked and which error each
// framing failure maps to, so requests (4xx) and responses (502) share one
// scanner.
type headSyntax struct {
	skipEmptyLines bool // RFC 9112 section 2.2: a server SHOULD ignore CRLFs before a request-line
	startLine      func(line []byte, complete bool) error

	bareLF, lineTooLong, tooLarge, tooMany error
	fold, badName, noColon, badValue       error
}

var requestSyntax = headSyntax{
	skipEmptyLines: true,
	startLine:      checkRequestLine,
	bareLF:         errBareLF,
	lineTooLong:    errURITooLong,
	tooLarge:       errHeadTooLarge,
	tooMany:        errTooManyFields,
	fold:           errObsFold,
	badName:        errBadFieldName,
	noColon:        errNoColon,
	badValue:       errBadFieldValue,
}

var responseSyntax = headSyntax{
	startLine:   checkStatusLine,
	bareLF:      errRespLF,
	lineTooLong: errRespTooLarge,
	tooLarge:    errRespTooLarge,
	tooMany:     errRespFields,
	fold:        errRespField,
	badName:     errRespField,
	noColon:     errRespField,
	badValue:    errRespField,
}

// scanHead frames one head at the start of b without allocating. It
// validates every byte it looks at, so that an invalid prefix fails at once
// (a TLS ClientHello on the plain port gets its 400 without waiting for a
// timeout) instead of being reported as ErrNeedMore.
//
// It returns the offset of the start line (after skipped empty lines), the
// head length n (through the final CRLF) and the number of field lines.
//
// Only the first MaxHeaderBytes bytes of b and the first MaxRequestLine
// bytes of the start line are validated before the size errors win. This
// keeps the verdict for a prefix of b the same as for b itself: more input
// never turns a 431 into a 400.
func scanHead(b []byte, lim Limits, syn *headSyntax) (start, n, fields int, err error) {
	w := b
	if len(w) > lim.MaxHeaderBytes {
		w = w[:lim.MaxHeaderBytes]
	}
	pos := 0
	if syn.skipEmptyLines {
		for pos+1 < len(w) && w[pos] == '\r' && w[pos+1] == '\n' {
			pos += 2
		}
	}
	start = pos

	// Start line.
	lf := bytes.IndexByte(w[pos:], '\n')
	if lf < 0 {
		line := dropCR(w[pos:])
		if err := checkStartLine(line, false, lim, syn); err != nil {
			return 0, 0, 0, err
		}
		return 0, 0, 0, needMore(b, w, syn)
	}
	if lf == 0 || w[pos+lf-1] != '\r' {
		return 0, 0, 0, syn.bareLF
	}
	if err := checkStartLine(w[pos:pos+lf-1], true, lim, syn); err != nil {
		return 0, 0, 0, err
	}
	pos += lf + 1

	// Field lines, up to the empty line.
	for {
		lf := bytes.IndexByte(w[pos:], '\n')
		if lf < 0 {
			line := w[pos:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if len(line) > 0 {
				if fields >= lim.MaxFields {
					return 0, 0, 0, syn.tooMany
				}
				if err := checkFieldLine(line, false, syn); err != nil {
					return 0, 0, 0, err
				}
			}
			return 0, 0, 0, needMore(b, w, syn)
		}
		if lf == 0 || w[pos+lf-1] != '\r' {
			return 0, 0, 0, syn.bareLF
		}
		line := w[pos : pos+lf-1]
		pos += lf + 1
		if len(line) == 0 {
			return start, pos, fields, nil
		}
		if fields >= lim.MaxFields {
			return 0, 0, 0, syn.tooMany
		}
		if err := checkFieldLine(line, true, syn); err != nil {
			return 0, 0, 0, err
		}
		fields++
	}
}

// needMore is the verdict for a head that is valid so far but unfinished:
// ErrNeedMore, unless the size budget is already spent.
func needMore(b, w []byte, syn *headSyntax) error {
	if len(b) > len(w) {
		return syn.tooLarge
	}
	return ErrNeedMore
}

// dropCR removes one trailing CR from an unfinished line: it may be the
// first half of the line's CRLF, which only the next byte can confirm.
func dropCR(line []byte) []byte {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1]
	}
	return line
}

// checkStartLine validates the first MaxRequestLine bytes of the start
// line and then applies the length limit (see scanHead on why in this
// order).
func checkStartLine(line []byte, complete bool, lim Limits, syn *headSyntax) error {
	if len(line) > lim.MaxRequestLine {
		if err := syn.startLine(line[:lim.MaxRequestLine], false); err != nil {
			return err
		}
		return syn.lineTooLong
	}
	return syn.startLine(line, complete)
}

// checkFieldLine validates field-line = field-name ":" OWS field-value OWS
// (RFC 9112 section 5). line excludes the CRLF; when complete is false it
// is a prefix and only the bytes present are judged.
func checkFieldLine(line []byte, complete bool, syn *headSyntax) error {
	// RFC 9112 section 5.2: obs-fold must be rejected; a first field line
	// starting with whitespace (section 2.2) likewise.
	if line[0] == ' ' || line[0] == '\t' {
		return syn.fold
	}
	i := 0
	for i < len(line) && line[i] != ':' {
		// Whitespace before the colon is a 400 (RFC 9112 section 5.1).
		if !tokenChar[line[i]] {
			return syn.badName
		}
		i++
	}
	if i == len(line) {
		if complete {
			return syn.noColon
		}
		return nil
	}
	if i == 0 {
		return syn.badName
	}
	for _, c := range line[i+1:] {
		if !valueChar[c] {
			return syn.badValue
		}
	}
	return nil
}
