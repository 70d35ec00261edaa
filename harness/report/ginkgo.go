package report

import (
	"cmp"
	"os"

	"github.com/onsi/ginkgo/v2"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// DirEnv names the environment variable holding the directory Attach writes
// reports into; DefaultDir is used when it is unset.
const (
	DirEnv     = "CASCADE_REPORT_DIR"
	DefaultDir = "reports"
)

// Dir is the directory Attach writes into: $CASCADE_REPORT_DIR or "reports".
func Dir() string { return cmp.Or(os.Getenv(DirEnv), DefaultDir) }

// Attach adds the text timeline of snap to the running Ginkgo spec's report
// (shown when the spec fails, or with -v) and writes the text, HTML and JSON
// into Dir(), named after the spec. It returns the files written; a write
// error is reported as a report entry rather than failing the spec, because a
// missing report must not hide the spec's own outcome. Call it from the spec,
// or from a DeferCleanup registered after the stack's, so it runs first.
func Attach(snap *timeline.Snapshot, opts ...Options) Files {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	spec := ginkgo.CurrentSpecReport()
	name := spec.FullText()
	if name == "" {
		name = cmp.Or(snap.Name, "timeline")
	}
	if o.Title == "" {
		o.Title = "cascade timeline: " + name
	}
	ginkgo.AddReportEntry("timeline", Text(snap, o), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	files, err := WriteDir(Dir(), name, snap, o)
	if err != nil {
		ginkgo.AddReportEntry("timeline report error", err.Error())
		return files
	}
	ginkgo.AddReportEntry("timeline report", files.HTML, ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return files
}
