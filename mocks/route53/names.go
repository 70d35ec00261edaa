package route53

import (
	"errors"
	"fmt"
	"strings"
)

// Names are kept in one canonical form everywhere in this package: lowercase,
// absolute (trailing dot), every byte other than a-z, 0-9, '-' and '_'
// written as a three-digit octal escape (`*` is `\052`), which is how Route53
// returns names. One form makes the name index a plain map and keeps escaped
// dots inside a label from being read as label separators.

// errBadName is wrapped by every name parse error.
var errBadName = errors.New("bad domain name")

// parseLabels splits a presentation-format name into raw labels. decimal
// selects the escape style of `\DDD`: decimal for DNS presentation format
// (miekg/dns), octal for Route53's API form.
func parseLabels(s string, decimal bool) ([][]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", errBadName)
	}
	if s == "." {
		return nil, nil
	}
	var labels [][]byte
	var cur []byte
	total := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: %q ends in a backslash", errBadName, s)
			}
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				var v int
				if decimal {
					v = int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				} else {
					if s[i+1] > '7' || s[i+2] > '7' || s[i+3] > '7' {
						return nil, fmt.Errorf("%w: %q has a bad octal escape", errBadName, s)
					}
					v = int(s[i+1]-'0')<<6 | int(s[i+2]-'0')<<3 | int(s[i+3]-'0')
				}
				if v > 255 {
					return nil, fmt.Errorf("%w: %q has an escape above 255", errBadName, s)
				}
				cur = append(cur, byte(v))
				i += 3
			} else {
				cur = append(cur, s[i+1])
				i++
			}
		case c == '.':
			if len(cur) == 0 {
				if i == len(s)-1 && len(labels) > 0 {
					continue // the trailing dot
				}
				return nil, fmt.Errorf("%w: %q has an empty label", errBadName, s)
			}
			labels, cur = append(labels, cur), nil
		default:
			cur = append(cur, c)
		}
	}
	if len(cur) > 0 {
		labels = append(labels, cur)
	}
	for _, l := range labels {
		if len(l) > 63 {
			return nil, fmt.Errorf("%w: label %q of %q is longer than 63 bytes", errBadName, l, s)
		}
		total += len(l) + 1
	}
	if total+1 > 255 {
		return nil, fmt.Errorf("%w: %q is longer than 255 bytes", errBadName, s)
	}
	return labels, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// formatLabels writes labels in the canonical form.
func formatLabels(labels [][]byte) string {
	if len(labels) == 0 {
		return "."
	}
	var b strings.Builder
	for _, l := range labels {
		for _, c := range l {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if plainByte(c) {
				b.WriteByte(c)
				continue
			}
			fmt.Fprintf(&b, "\\%03o", c)
		}
		b.WriteByte('.')
	}
	return b.String()
}

// CanonicalName returns name in the canonical form Route53 returns names in
// (lowercase, trailing dot, octal escapes): "*.Example.com" is
// `\052.example.com.`. It accepts Route53's octal escapes.
func CanonicalName(name string) (string, error) {
	labels, err := parseLabels(name, false)
	if err != nil {
		return "", err
	}
	return formatLabels(labels), nil
}

// canonicalDNS converts a name in DNS presentation format (miekg/dns, decimal
// escapes) to the canonical form.
func canonicalDNS(name string) (string, error) {
	labels, err := parseLabels(name, true)
	if err != nil {
		return "", err
	}
	return formatLabels(labels), nil
}

// dnsPresentation converts a canonical name to DNS presentation format
// (decimal escapes) for miekg/dns.
func dnsPresentation(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	labels, err := parseLabels(name, false)
	if err != nil {
		return name
	}
	var b strings.Builder
	for _, l := range labels {
		for _, c := range l {
			if plainByte(c) || c >= 'A' && c <= 'Z' || c == '*' {
				b.WriteByte(c)
				continue
			}
			fmt.Fprintf(&b, "\\%03d", c)
		}
		b.WriteByte('.')
	}
	return b.String()
}

// sortKey is the key Route53 sorts record names by: the labels reversed,
// joined by dots, with the trailing dot ("www.example.com." sorts as
// "com.example.www."). Route53 documents that the trailing dot changes the
// order of names holding characters below '.', which this key reproduces.
// Every descendant's key has its ancestor's key as a prefix.
func sortKey(canonical string) string {
	if canonical == "." {
		return "."
	}
	labels := strings.Split(strings.TrimSuffix(canonical, "."), ".")
	var b strings.Builder
	b.Grow(len(canonical))
	for i := len(labels) - 1; i >= 0; i-- {
		b.WriteString(labels[i])
		b.WriteByte('.')
	}
	return b.String()
}

// inZone reports whether canonical name is zone or below it.
func inZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// parent returns the name one label up ("" above the root).
func parent(name string) string {
	if name == "." {
		return ""
	}
	i := strings.IndexByte(name, '.')
	if i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}
