package acl

import "fmt"

// ParseError reports a problem in an --acl or --auth-file file, with the
// line it was found on, so a reload that fails can say exactly why.
type ParseError struct {
	// File is the path given to the Load function, or "" for a reader.
	File string
	// Line is 1-based.
	Line int
	// Msg says what is wrong with the line. It never quotes a password
	// hash: error text ends up in logs.
	Msg string
}

// Error formats as "file:line: msg" (or "line N: msg" without a file), the
// shape editors and grep understand.
func (e *ParseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func lineErr(line int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// withFile fills in the file name on a ParseError coming out of a parser
// that only saw a reader.
func withFile(err error, path string) error {
	if pe, ok := err.(*ParseError); ok {
		pe.File = path
	}
	return err
}
