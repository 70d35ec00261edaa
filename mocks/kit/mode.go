package kit

import "fmt"

// Mode selects a mechanism's behaviour: as it was in October 2025, or with the
// protection AWS announced or the community proposed.
type Mode string

const (
	// AsWas is the behaviour of October 2025.
	AsWas Mode = "aswas"
	// Fixed turns the mechanism's protection on.
	Fixed Mode = "fixed"
)

// ParseMode parses a mode name; the error names the valid choices.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case AsWas, Fixed:
		return Mode(s), nil
	case "":
		return AsWas, nil
	}
	return "", fmt.Errorf("unknown mode %q: valid modes are aswas, fixed", s)
}

// String returns the mode's name.
func (m Mode) String() string { return string(m) }

// IsFixed reports whether the protection is on.
func (m Mode) IsFixed() bool { return m == Fixed }
