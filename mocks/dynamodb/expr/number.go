package expr

import (
	"math/big"
	"strconv"
	"strings"
)

// DynamoDB number limits: 38 significant digits, magnitudes between 1E-130 and
// 9.9999999999999999999999999999999999999E+125.
const (
	maxSignificantDigits = 38
	maxAdjustedExponent  = 125
	minAdjustedExponent  = -130
)

// decimal is an exact base-10 number: coef × 10^exp. coef holds the
// significant digits without leading or trailing zeros; an empty coef is zero.
// An exact representation (rather than big.Float) keeps "0.1" and "0.10" equal
// and keeps arithmetic free of binary rounding.
type decimal struct {
	neg  bool
	coef string
	exp  int
}

func (d decimal) isZero() bool { return d.coef == "" }

// adjustedExponent is the exponent of the most significant digit.
func (d decimal) adjustedExponent() int { return d.exp + len(d.coef) - 1 }

func numberError(s string) *ValidationError {
	return validation("The parameter cannot be converted to a numeric value: " + s)
}

// parseDecimal parses a DynamoDB number string and enforces the service's
// precision and range limits.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	var digits strings.Builder
	fracDigits, sawDigit, sawPoint := 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
			sawDigit = true
			if sawPoint {
				fracDigits++
			}
		case c == '.' && !sawPoint:
			sawPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if !sawDigit {
		return decimal{}, numberError(s)
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return decimal{}, numberError(s)
		}
		rest := s[i+1:]
		if rest == "" || rest == "+" || rest == "-" {
			return decimal{}, numberError(s)
		}
		for j, c := range rest {
			if !(c >= '0' && c <= '9') && !(j == 0 && (c == '+' || c == '-')) {
				return decimal{}, numberError(s)
			}
		}
		e, err := strconv.Atoi(rest)
		if err != nil {
			// Absurd exponents cannot be represented either way; report them
			// as the range error DynamoDB would give.
			if strings.HasPrefix(rest, "-") {
				exp = -1 << 40
			} else {
				exp = 1 << 40
			}
		} else {
			exp = e
		}
	}
	all := digits.String()
	trimmed := strings.TrimLeft(all, "0")
	exp -= fracDigits
	withoutTrailing := strings.TrimRight(trimmed, "0")
	exp += len(trimmed) - len(withoutTrailing)
	d.coef = withoutTrailing
	d.exp = exp
	if d.isZero() {
		return decimal{}, nil
	}
	return d, d.checkLimits()
}

func (d decimal) checkLimits() error {
	if d.isZero() {
		return nil
	}
	if len(d.coef) > maxSignificantDigits {
		return validation("Attempting to store more than 38 significant digits in a Number")
	}
	adj := d.adjustedExponent()
	if adj > maxAdjustedExponent {
		return validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
	}
	if adj < minAdjustedExponent {
		return validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	return nil
}

// String renders the canonical plain-decimal form DynamoDB returns.
func (d decimal) String() string {
	if d.isZero() {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	switch point := len(d.coef) + d.exp; {
	case d.exp >= 0:
		b.WriteString(d.coef)
		b.WriteString(strings.Repeat("0", d.exp))
	case point > 0:
		b.WriteString(d.coef[:point])
		b.WriteByte('.')
		b.WriteString(d.coef[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(d.coef)
	}
	return b.String()
}

// compareDecimal orders two decimals numerically.
func compareDecimal(a, b decimal) int {
	switch {
	case a.isZero() && b.isZero():
		return 0
	case a.isZero():
		if b.neg {
			return 1
		}
		return -1
	case b.isZero():
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	mag := compareMagnitude(a, b)
	if a.neg {
		return -mag
	}
	return mag
}

func compareMagnitude(a, b decimal) int {
	if ea, eb := a.adjustedExponent(), b.adjustedExponent(); ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	// Same leading exponent: digit strings compare lexicographically once the
	// shorter one is padded with zeros, which is what a missing digit means.
	ca, cb := a.coef, b.coef
	if len(ca) < len(cb) {
		ca += strings.Repeat("0", len(cb)-len(ca))
	} else {
		cb += strings.Repeat("0", len(ca)-len(cb))
	}
	return strings.Compare(ca, cb)
}

// bigInt returns the signed coefficient; the exponent stays in d.exp.
func (d decimal) bigInt() *big.Int {
	n, _ := new(big.Int).SetString("0"+d.coef, 10)
	if d.neg {
		n.Neg(n)
	}
	return n
}

// addDecimal returns a+b exactly, then applies DynamoDB's limits to the result.
func addDecimal(a, b decimal) (decimal, error) {
	if a.isZero() {
		return b, nil
	}
	if b.isZero() {
		return a, nil
	}
	// Exponents are bounded by the range checks, so the alignment shift is at
	// most a few hundred digits.
	exp := min(a.exp, b.exp)
	x := a.bigInt()
	x.Mul(x, pow10(a.exp-exp))
	y := b.bigInt()
	y.Mul(y, pow10(b.exp-exp))
	x.Add(x, y)
	return decimalFromBigInt(x, exp)
}

func negateDecimal(d decimal) decimal {
	if !d.isZero() {
		d.neg = !d.neg
	}
	return d
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

func decimalFromBigInt(n *big.Int, exp int) (decimal, error) {
	s := n.String()
	var d decimal
	if strings.HasPrefix(s, "-") {
		d.neg = true
		s = s[1:]
	}
	trimmed := strings.TrimRight(strings.TrimLeft(s, "0"), "0")
	if trimmed == "" {
		return decimal{}, nil
	}
	d.coef = trimmed
	d.exp = exp + len(strings.TrimLeft(s, "0")) - len(trimmed)
	return d, d.checkLimits()
}
