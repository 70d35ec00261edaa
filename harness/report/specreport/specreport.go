// Package specreport attaches timeline reports to the running Ginkgo spec.
// It is the one part of the reports that needs Ginkgo, kept apart so that
// harness/report (and the cascade CLI, which uses it) links no test
// framework.
package specreport

import (
	"cmp"

	"github.com/onsi/ginkgo/v2"

	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Attach adds the text timeline of snap to the running Ginkgo spec's report
// (shown when the spec fails, or with -v) and writes the text, HTML and JSON
// into report.Dir(), named after the spec. It returns the files written; a
// write error is reported as a report entry rather than failing the spec,
// because a missing report must not hide the spec's own outcome. Call it
// from the spec, or from a DeferCleanup registered after the stack's, so it
// runs first.
func Attach(snap *timeline.Snapshot, opts ...report.Options) report.Files {
	var o report.Options
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
	ginkgo.AddReportEntry("timeline", report.Text(snap, o), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	files, err := report.WriteDir(report.Dir(), name, snap, o)
	if err != nil {
		ginkgo.AddReportEntry("timeline report error", err.Error())
		return files
	}
	ginkgo.AddReportEntry("timeline report", files.HTML, ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return files
}
