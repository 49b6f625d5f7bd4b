package h1

import "bytes"

// headSyntax says how a head's start line is checked and which error each
// framing failure maps to, so requests (4xx) and responses (502) share one
// scanner.
type headSyntax struct {
	skipEmptyLines bool // RFC 9112 section 2.2: a server SHOULD ignore CRLFs before a request-line
	// statusLine selects checkStatusLine over checkRequestLine. A flag,
	// not a func field: an indirect call would make the scan state escape
	// to the heap, one allocation per call.
	statusLine bool

	bareLF, lineTooLong, tooLarge, tooMany error
	fold, badName, noColon, badValue       error
}

var requestSyntax = headSyntax{
	skipEmptyLines: true,
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
	statusLine:  true,
	bareLF:      errRespLF,
	lineTooLong: errRespTooLarge,
	tooLarge:    errRespTooLarge,
	tooMany:     errRespFields,
	fold:        errRespField,
	badName:     errRespField,
	noColon:     errRespField,
	badValue:    errRespField,
}

// lineState is how far validation of the line being received has got, so
// that a line arriving one byte per call is still checked in linear time.
type lineState struct {
	checked int   // bytes of the line already validated
	part    uint8 // which part of the line byte checked falls in (line-specific)
	partAt  int   // offset in the line where that part began
}

// scanState is how far scanHead has got in a head that is still arriving.
type scanState struct {
	pos      int  // offset of the first line not yet complete
	start    int  // offset of the start line
	fields   int  // complete field lines so far
	inFields bool // the start line is complete
	line     lineState
}

// scanHead frames one head at the start of b without allocating. It
// validates every byte it looks at, so that an invalid prefix fails at once
// (a TLS ClientHello on the plain port gets its 400 without waiting for a
// timeout) instead of being reported as ErrNeedMore.
//
// st carries progress between calls on a growing buffer: bytes validated
// by an earlier call are not looked at again. A zero st starts afresh.
//
// It returns the offset of the start line (after skipped empty lines), the
// head length n (through the final CRLF) and the number of field lines.
//
// Only the first MaxHeaderBytes bytes of b and the first MaxRequestLine
// bytes of the start line are validated before the size errors win. This
// keeps the verdict for a prefix of b the same as for b itself: more input
// never turns a 431 into a 400.
func scanHead(b []byte, lim Limits, syn *headSyntax, st *scanState) (start, n, fields int, err error) {
	w := b
	if len(w) > lim.MaxHeaderBytes {
		w = w[:lim.MaxHeaderBytes]
	}
	if st.pos+st.line.checked > len(w) {
		// The buffer shrank, which HeadParser's contract forbids; starting
		// over is correct, resuming would slice out of range.
		*st = scanState{}
	}
	if !st.inFields {
		if st.line.checked == 0 {
			if syn.skipEmptyLines {
				for st.pos+1 < len(w) && w[st.pos] == '\r' && w[st.pos+1] == '\n' {
					st.pos += 2
				}
			}
			st.start = st.pos
		}
		// No LF hides in the bytes already checked: LF is never valid
		// inside a line.
		lf := bytes.IndexByte(w[st.pos+st.line.checked:], '\n')
		if lf < 0 {
			if err := checkStartLine(dropCR(w[st.pos:]), false, lim, syn, &st.line); err != nil {
				return 0, 0, 0, err
			}
			return 0, 0, 0, needMore(b, w, syn)
		}
		end := st.pos + st.line.checked + lf
		if end == st.pos || w[end-1] != '\r' {
			return 0, 0, 0, syn.bareLF
		}
		if err := checkStartLine(w[st.pos:end-1], true, lim, syn, &st.line); err != nil {
			return 0, 0, 0, err
		}
		st.pos = end + 1
		st.inFields = true
		st.line = lineState{}
	}

	// Field lines, up to the empty line.
	for {
		lf := bytes.IndexByte(w[st.pos+st.line.checked:], '\n')
		if lf < 0 {
			line := dropCR(w[st.pos:])
			if len(line) > 0 {
				if st.fields >= lim.MaxFields {
					return 0, 0, 0, syn.tooMany
				}
				if err := checkFieldLine(line, false, syn, &st.line); err != nil {
					return 0, 0, 0, err
				}
			}
			return 0, 0, 0, needMore(b, w, syn)
		}
		end := st.pos + st.line.checked + lf
		if end == st.pos || w[end-1] != '\r' {
			return 0, 0, 0, syn.bareLF
		}
		line := w[st.pos : end-1]
		st.pos = end + 1
		if len(line) == 0 {
			return st.start, st.pos, st.fields, nil
		}
		if st.fields >= lim.MaxFields {
			return 0, 0, 0, syn.tooMany
		}
		if err := checkFieldLine(line, true, syn, &st.line); err != nil {
			return 0, 0, 0, err
		}
		st.fields++
		st.line = lineState{}
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
func checkStartLine(line []byte, complete bool, lim Limits, syn *headSyntax, st *lineState) error {
	tooLong := len(line) > lim.MaxRequestLine
	if tooLong {
		line, complete = line[:lim.MaxRequestLine], false
	}
	var err error
	if syn.statusLine {
		err = checkStatusLine(line, complete, st)
	} else {
		err = checkRequestLine(line, complete, st)
	}
	if err == nil && tooLong {
		err = syn.lineTooLong
	}
	return err
}

// Parts of a field line, for lineState.part.
const (
	fieldName uint8 = iota
	fieldValue
)

// checkFieldLine validates field-line = field-name ":" OWS field-value OWS
// (RFC 9112 section 5). line excludes the CRLF; when complete is false it
// is a prefix and only the bytes present are judged. Validation resumes at
// st.checked.
func checkFieldLine(line []byte, complete bool, syn *headSyntax, st *lineState) error {
	i := st.checked
	// RFC 9112 section 5.2: obs-fold must be rejected; a first field line
	// starting with whitespace (section 2.2) likewise.
	if i == 0 && (line[0] == ' ' || line[0] == '\t') {
		return syn.fold
	}
	if st.part == fieldName {
		for ; i < len(line) && line[i] != ':'; i++ {
			// Whitespace before the colon is a 400 (RFC 9112 section 5.1).
			if !tokenChar[line[i]] {
				return syn.badName
			}
		}
		if i == len(line) {
			if complete {
				return syn.noColon
			}
			st.checked = i
			return nil
		}
		if i == 0 {
			return syn.badName
		}
		st.part = fieldValue
		i++
	}
	if !isClean(line[i:]) {
		return syn.badValue
	}
	st.checked = len(line)
	return nil
}
