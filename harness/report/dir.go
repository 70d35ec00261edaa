package report

import (
	"cmp"
	"os"
)

// DirEnv names the environment variable holding the directory reports are
// written into (specreport.Attach, the incident suite); DefaultDir is used
// when it is unset.
const (
	DirEnv     = "CASCADE_REPORT_DIR"
	DefaultDir = "reports"
)

// Dir is the directory reports are written into: $CASCADE_REPORT_DIR or
// "reports".
func Dir() string { return cmp.Or(os.Getenv(DirEnv), DefaultDir) }
