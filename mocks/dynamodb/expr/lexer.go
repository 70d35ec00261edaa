package expr

import (
	"unicode/utf8"
)

// tokenKind classifies lexemes. DynamoDB expressions have no literals other
// than list indexes: every constant goes through an :value placeholder.
type tokenKind int

const (
	tokEOF     tokenKind = iota
	tokIdent             // bare word: attribute name, keyword or function name
	tokName              // #placeholder
	tokValue             // :placeholder
	tokNumber            // digits, only meaningful inside [ ]
	tokOp                // punctuation and comparators
	tokIllegal           // a character DynamoDB's grammar does not accept
)

type token struct {
	kind       tokenKind
	text       string
	start, end int // byte offsets in the source, used for "near" in errors
}

// eofText is how DynamoDB names the end of input in syntax errors.
const eofText = "<EOF>"

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// lex splits src into tokens. It never fails: characters outside the grammar
// become tokIllegal so the parser reports them as the offending token, the way
// DynamoDB does. The result always ends with a tokEOF.
func lex(src string) []token {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tokIdent, text: src[start:i], start: start, end: i})
			continue
		case c >= '0' && c <= '9':
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			toks = append(toks, token{kind: tokNumber, text: src[start:i], start: start, end: i})
			continue
		case c == '#' || c == ':':
			i++
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			kind := tokName
			if c == ':' {
				kind = tokValue
			}
			if i == start+1 {
				kind = tokIllegal
			}
			toks = append(toks, token{kind: kind, text: src[start:i], start: start, end: i})
			continue
		}
		if i+1 < len(src) {
			switch two := src[i : i+2]; two {
			case "<>", "<=", ">=":
				toks = append(toks, token{kind: tokOp, text: two, start: i, end: i + 2})
				i += 2
				continue
			}
		}
		switch c {
		case '=', '<', '>', '(', ')', ',', '.', '[', ']', '+', '-':
			toks = append(toks, token{kind: tokOp, text: src[i : i+1], start: i, end: i + 1})
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(src[i:])
		toks = append(toks, token{kind: tokIllegal, text: src[i : i+size], start: i, end: i + size})
		i += size
	}
	return append(toks, token{kind: tokEOF, text: eofText, start: len(src), end: len(src)})
}
